"""Speed, utilisation and memory of ACR's training step, class maps and evaluation."""
from .loss_curves import compare_loss_curves, format_loss_curves
from .measure import PeakMemory, count_flops, gemm_peak, machine_info, paired_ratio, run_interleaved
from .runner import (DEFAULT_WORKLOADS, WORKLOADS, BenchmarkSettings, device_bf16, format_markdown,
                     machine_line, run_benchmark, select_workloads, write_json)

__all__ = [
    'compare_loss_curves', 'format_loss_curves', 'PeakMemory', 'count_flops', 'gemm_peak',
    'machine_info', 'paired_ratio',
    'run_interleaved', 'DEFAULT_WORKLOADS', 'WORKLOADS', 'BenchmarkSettings',
    'format_markdown', 'run_benchmark', 'write_json', 'device_bf16', 'select_workloads',
    'machine_line'
]
