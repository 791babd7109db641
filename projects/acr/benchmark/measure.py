"""Measurement primitives: interleaved timing, counted FLOPs, peak memory, GEMM peak.

Everything here is device-agnostic: CUDA work is synchronised before a clock is read,
peak memory is the CUDA caching allocator's on a GPU and the process's resident set on
a CPU.
"""
import ctypes
import datetime
import os
import resource
import statistics
import time
from typing import Callable, Dict, List, Mapping, Optional

import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from ..utils.cpu_capability import detect_cpu_capability
from ..utils.cpus import available_cpus


def synchronize(device: torch.device) -> None:
    """Waits for the device's queued work (a no-op on CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


def _cpu_sdpa_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args,
                             **kwargs) -> int:
    return flop_counter.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape,
                                                 value_shape)


def _cpu_attention_formulas() -> Dict[object, Callable[..., int]]:
    """Formulas of the CPU fused-attention kernels, which torch's counter leaves out.

    torch counts its GPU attention kernels but not the CPU one that
    ``scaled_dot_product_attention`` dispatches to, so the fused attention of plain timm
    would count as zero FLOPs on a CPU; the GPU kernels' formulas apply to it alike (two
    products forward, five backward: flash attention's backward recomputes the scores).
    """
    aten = torch.ops.aten
    formulas: Dict[object, Callable[..., int]] = {}
    for name, fn in (('_scaled_dot_product_flash_attention_for_cpu', _cpu_sdpa_flops),
                     ('_scaled_dot_product_flash_attention_for_cpu_backward',
                      _cpu_sdpa_backward_flops)):
        if hasattr(aten, name):
            formulas[getattr(aten, name)] = fn
    return formulas


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of one call, counted by ``torch.utils.flop_counter``.

    The counter sees matrix products, convolutions and fused attention (forward and
    backward, also inside vectorised backward passes; on CPUs too) and counts 2 per
    multiply-add; element-wise work (softmax, norms, activations) is not counted, as
    usual for MFU.

    Args:
        fn (Callable): The work to count; its result is discarded.

    Returns:
        int: FLOPs of one call.
    """
    with FlopCounterMode(display=False, custom_mapping=_cpu_attention_formulas()) as counter:
        fn()
    return int(counter.get_total_flops())


_CLEAR_REFS = '/proc/self/clear_refs'
_STATUS = '/proc/self/status'


def _read_status_kib(field: str) -> Optional[int]:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _release_free_heap() -> None:
    """Returns freed heap pages to the system (glibc), so the resident set is live data.

    Without it the memory a previous workload freed stays resident in the allocator's
    free lists, and the peak of every later workload would include it.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak may include freed memory
        pass


def _reset_rss_peak() -> bool:
    """Resets the kernel's resident-set high-water mark (Linux >= 4.0)."""
    _release_free_heap()
    try:
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class PeakMemory:
    """Peak memory of the work inside a ``with`` block, in bytes.

    On CUDA: the caching allocator's peak of allocated tensors (weights included). On
    CPU: the process's peak resident set (``VmHWM``), reset on entry through
    ``/proc/self/clear_refs``; where that is unavailable the peak since the process
    started (``ru_maxrss``) is reported and ``exact`` is False.

    Attributes:
        peak (int): Peak bytes, set on exit.
        before (int): Bytes in use on entry (allocated tensors / resident set).
        exact (bool): Whether ``peak`` covers the block alone.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = torch.device(device)
        self.peak = 0
        self.before = 0
        self.exact = True

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.before = torch.cuda.memory_allocated(self.device)
        else:
            self.exact = _reset_rss_peak()
            self.before = (_read_status_kib('VmRSS') or 0) * 1024
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
            return
        hwm = _read_status_kib('VmHWM') if self.exact else None
        if hwm is None:
            self.exact = False
            # ru_maxrss is in KiB on Linux.
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak = hwm * 1024


def gemm_peak(device: torch.device,
              dtype: torch.dtype,
              size: Optional[int] = None,
              samples: int = 5,
              min_seconds: float = 0.1) -> float:
    """Measured matrix-multiply rate of the device, FLOP/s (2 per multiply-add).

    Square products of ``size`` are timed in ``samples`` samples of at least
    ``min_seconds`` each; the best sample is the peak (the least disturbed by other
    work on the machine).

    Args:
        device (torch.device): Where to measure.
        dtype (torch.dtype): Operand type (``torch.float32`` or ``torch.bfloat16``).
        size (int, optional): Matrix side; 2048 on CPU, 8192 on GPU by default.
        samples (int): Timed samples.
        min_seconds (float): Least duration of one sample.

    Returns:
        float: FLOP/s.
    """
    device = torch.device(device)
    n = size or (8192 if device.type == 'cuda' else 2048)
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, generator=gen).to(dtype)
    b = torch.randn(n, n, device=device, generator=gen).to(dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up: kernel selection, page faults
    synchronize(device)
    start = time.perf_counter()
    torch.mm(a, b, out=out)
    synchronize(device)
    one = max(time.perf_counter() - start, 1e-9)
    iters = max(1, int(min_seconds / one + 0.5))
    best = 0.0
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(iters):
            torch.mm(a, b, out=out)
        synchronize(device)
        best = max(best, 2.0 * n**3 * iters / (time.perf_counter() - start))
    return best


def run_interleaved(fns: Mapping[str, Callable[[], object]],
                    device: torch.device,
                    repeats: int,
                    warmup: int = 1,
                    after_round: Optional[Callable[[], object]] = None,
                    on_call: Optional[Callable[[Optional[int], str, float], object]] = None
                    ) -> Dict[str, Dict[str, object]]:
    """Times several workloads in turns (A, B, C, A, B, C, ...).

    A slow phase of a shared machine then falls on every workload of the round alike,
    so the per-round ratios, which :func:`paired_ratio` takes, are steadier than ratios
    of separately timed medians.

    Args:
        fns (Mapping[str, Callable]): Named workloads; each call is one measured unit.
        device (torch.device): Device to synchronise and whose memory to watch.
        repeats (int): Timed rounds.
        warmup (int): Untimed rounds first.
        after_round (Callable, optional): Called after each timed round (e.g. one more
            sample of the GEMM peak, so that it sees the same phases of the machine).
        on_call (Callable, optional): Called after every call with the round index (None
            in the warm-up), the workload's name and its seconds (e.g. to log progress).

    Returns:
        dict[str, dict]: Per workload ``seconds`` (list of ``repeats`` floats, in round
        order), ``peak_bytes`` (max over the timed calls), ``before_bytes`` (memory in
        use when the call with the peak started) and ``exact_memory``.
    """
    if repeats < 1:
        raise ValueError(f'repeats must be >= 1, got {repeats}')
    device = torch.device(device)
    for _ in range(warmup):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            synchronize(device)
            if on_call is not None:
                on_call(None, name, time.perf_counter() - start)
    results: Dict[str, Dict[str, object]] = {
        name: dict(seconds=[], peak_bytes=0, before_bytes=0, exact_memory=True)
        for name in fns
    }
    for r in range(repeats):
        for name, fn in fns.items():
            res = results[name]
            with PeakMemory(device) as mem:
                start = time.perf_counter()
                fn()
                synchronize(device)
                res['seconds'].append(time.perf_counter() - start)
            if mem.peak >= res['peak_bytes']:
                res['peak_bytes'], res['before_bytes'] = mem.peak, mem.before
            res['exact_memory'] = res['exact_memory'] and mem.exact
            if on_call is not None:
                on_call(r, name, res['seconds'][-1])
        if after_round is not None:
            after_round()
    return results


def median(values: List[float]) -> float:
    """Median of a non-empty list."""
    return float(statistics.median(values))


def paired_ratio(numerator: List[float], denominator: List[float]) -> float:
    """Median over rounds of ``numerator[r] / denominator[r]``.

    Args:
        numerator (list[float]): Seconds per round of one workload.
        denominator (list[float]): Seconds per round of the other, same rounds.

    Returns:
        float: The median ratio.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError('paired ratios need the same non-zero number of rounds, got '
                         f'{len(numerator)} and {len(denominator)}')
    return median([a / b for a, b in zip(numerator, denominator)])


def cpu_model_name() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (as ``lscpu`` shows it)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or 'unknown CPU'


def load_average() -> Optional[float]:
    """The system's 1-minute load average, or None where the system has none."""
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


def machine_info(device: torch.device) -> Dict[str, object]:
    """What the figures were measured on: the time and 1-minute load average of this
    call, the CPU with its bf16 capability, threads, torch (and the GPU)."""
    device = torch.device(device)
    info: Dict[str, object] = dict(
        measured_at=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        load_average=load_average(),
        device=str(device),
        cpu=cpu_model_name(),
        cpu_cores=available_cpus(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        cpu_capability=detect_cpu_capability().as_dict(),
    )
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info
