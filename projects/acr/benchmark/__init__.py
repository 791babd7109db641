"""Speed, utilisation and memory of ACR's training step, class maps and evaluation."""
from .measure import (PeakMemory, count_flops, gemm_peak, machine_info, paired_ratio,
                      run_interleaved)
from .runner import (DEFAULT_WORKLOADS, WORKLOADS, BenchmarkSettings, format_markdown,
                     run_benchmark, write_json)

__all__ = [
    'PeakMemory', 'count_flops', 'gemm_peak', 'machine_info', 'paired_ratio',
    'run_interleaved', 'DEFAULT_WORKLOADS', 'WORKLOADS', 'BenchmarkSettings',
    'format_markdown', 'run_benchmark', 'write_json'
]
