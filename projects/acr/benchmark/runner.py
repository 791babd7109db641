"""One benchmark run: GEMM peaks, the workloads timed in turns, a table and a JSON record."""
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..utils.atomic_io import atomic_write_bytes
from ..utils.cpu_capability import detect_cpu_capability
from .measure import (count_flops, gemm_peak, load_average, machine_info, median, paired_ratio,
                      run_interleaved)
from .workloads import (VOC_IMAGE_SIZES, build_model, cam_evaluation, class_maps, timm_step,
                        train_step)

#: Workloads by name: what they measure, their precision and the GEMM peak they use.
WORKLOADS = {
    'train_fp32': ('stage-1 training step (2 views)', 'fp32'),
    'train_bf16': ('stage-1 training step (2 views)', 'bf16'),
    'maps': ('class maps of one image (flip, refine, upsample)', 'fp32'),
    'cam_eval': ('CAM evaluation (threshold sweep over the split)', 'fp32'),
    'cam_eval_1t': ('CAM evaluation in one process', 'fp32'),
    'timm_fp32': ('plain timm forward+backward (2 views, fused attention)', 'fp32'),
}
DEFAULT_WORKLOADS = ('train_fp32', 'train_bf16', 'maps', 'cam_eval')


@dataclass
class BenchmarkSettings:
    """What to measure.

    Attributes:
        config (str): Stage-1 config whose model (and ``test_cfg``) is measured.
        device (str): ``'cpu'`` or ``'cuda'`` (``'cuda:N'``).
        img_size (int): Crop / network input size.
        batch (int): Images per training step (two views each).
        classes (int): Classes annotated per image (mapped by GETAM).
        workloads (Sequence[str], optional): Names from :data:`WORKLOADS`, measured as
            asked. None measures :data:`DEFAULT_WORKLOADS`, leaving out the bf16 ones on a
            device without native bf16 (a CPU without AVX512-BF16 / AMX / Arm BF16, a GPU
            before Ampere), where they would take many times as long as fp32 and say
            nothing about ACR; the record names what was left out and why.
        repeats (int): Timed rounds.
        warmup (int): Untimed rounds first.
        eval_images (int): Images of the evaluated split (VOC train: 1,464).
        eval_thresholds (int): Background thresholds swept (0, 0.01, ..., 0.99).
        eval_workers (int, optional): Worker processes of the evaluation (``cam_eval``); defaults
            to the CPUs available, at most 8. ``cam_eval_1t`` always uses one.
        gemm_size (int, optional): Side of the square products of the GEMM peak.
        cfg_options (dict): Overrides of the config.
    """

    config: str = 'configs/acr/vit_voc.py'
    device: str = 'cpu'
    img_size: int = 384
    batch: int = 1
    classes: int = 2
    workloads: Optional[Sequence[str]] = None
    repeats: int = 3
    warmup: int = 1
    eval_images: int = 1464
    eval_thresholds: int = 100
    eval_workers: Optional[int] = None
    gemm_size: Optional[int] = None
    cfg_options: Dict = field(default_factory=dict)


def _items_per_call(name: str, settings: BenchmarkSettings) -> int:
    """Images one call of a workload handles."""
    if name == 'maps':
        return 1
    if name in ('cam_eval', 'cam_eval_1t'):
        return settings.eval_images
    return settings.batch


def device_bf16(device: torch.device) -> Tuple[bool, str]:
    """Whether the device computes bf16 natively, and a line that says how it was found.

    Args:
        device (torch.device): ``cpu`` or ``cuda``.

    Returns:
        tuple[bool, str]: The verdict and its reason.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        name = torch.cuda.get_device_name(device)
        return native, f"{name} {'has' if native else 'has no'} native bf16"
    cap = detect_cpu_capability()
    return cap.native_bf16, f'CPU: {cap.describe()}'


def select_workloads(settings: BenchmarkSettings,
                     native_bf16: bool,
                     reason: str) -> Tuple[Tuple[str, ...], Dict[str, str]]:
    """The workloads to measure, and those left out with the reason.

    Named workloads are all measured; the default set leaves the bf16 ones out where the
    device has no native bf16.

    Args:
        settings (BenchmarkSettings): What was asked for.
        native_bf16 (bool): Whether the device computes bf16 natively.
        reason (str): What the device is (from :func:`device_bf16`).

    Returns:
        tuple: The names to measure, and ``{name: why it is skipped}``.
    """
    if settings.workloads is not None:
        return tuple(settings.workloads), {}
    skipped = {}
    if not native_bf16:
        for name in DEFAULT_WORKLOADS:
            if WORKLOADS[name][1] == 'bf16':
                skipped[name] = (
                    f'skipped: no native bf16 ({reason}); its bf16 products are emulated, '
                    'many times slower than fp32. Name it in --workloads to measure it '
                    'anyway.')
    return tuple(w for w in DEFAULT_WORKLOADS if w not in skipped), skipped


def _peak_precisions(names: Sequence[str]) -> List[str]:
    """The precisions whose GEMM peak the workloads' MFU needs (counted ones only)."""
    return sorted({WORKLOADS[n][1] for n in names if not n.startswith('cam_eval')},
                  key=['fp32', 'bf16'].index)


def build_workloads(settings: BenchmarkSettings,
                    cfg: Config) -> Dict[str, Callable[[], None]]:
    """The requested workloads, ready to call."""
    names = DEFAULT_WORKLOADS if settings.workloads is None else tuple(settings.workloads)
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        raise ValueError(f'unknown workloads {unknown}; choose from {list(WORKLOADS)}')
    device = torch.device(settings.device)
    fns: Dict[str, Callable[[], None]] = {}
    model = None
    if any(not w.startswith('cam_eval') for w in names):
        model = build_model(cfg, device)
    for name in names:
        if name in ('train_fp32', 'train_bf16'):
            fns[name] = train_step(model, cfg, settings.img_size, settings.batch,
                                   settings.classes, bf16=name == 'train_bf16')
        elif name == 'maps':
            fns[name] = class_maps(model, settings.img_size, settings.classes)
        elif name == 'cam_eval':
            fns[name] = cam_evaluation(settings.eval_images, settings.eval_thresholds,
                                       cfg.model.head.num_classes,
                                       workers=settings.eval_workers)
        elif name == 'cam_eval_1t':
            fns[name] = cam_evaluation(settings.eval_images, settings.eval_thresholds,
                                       cfg.model.head.num_classes, workers=1)
        elif name == 'timm_fp32':
            fns[name] = timm_step(cfg, device, settings.img_size, settings.batch,
                                  settings.classes)
    return fns


def _ratios(times: Dict[str, List[float]]) -> Dict[str, Dict[str, object]]:
    """Paired ratios of the workloads that were measured together."""
    wanted = [
        ('bf16 training speed-up', 'train_fp32', 'train_bf16',
         'fp32 step time / bf16 step time'),
        ('class maps / training step', 'maps', 'train_fp32',
         "one image's maps / one fp32 training step"),
        ('ACR step / plain timm', 'train_fp32', 'timm_fp32',
         'ACR training step / plain forward+backward'),
        ('evaluation workers speed-up', 'cam_eval_1t', 'cam_eval',
         'one-process sweep time / sweep time with worker processes'),
    ]
    out = {}
    for label, num, den, meaning in wanted:
        if num in times and den in times:
            out[label] = dict(value=paired_ratio(times[num], times[den]), meaning=meaning,
                              per_round=[a / b for a, b in zip(times[num], times[den])])
    return out


def run_benchmark(settings: BenchmarkSettings) -> Dict[str, object]:
    """Measures the peaks and the workloads; returns the JSON-ready record.

    Progress is logged as it goes (mmengine's current logger): the device's bf16 verdict
    and what it leaves out, each GEMM peak, the FLOP count of each workload and every
    timed round.

    Args:
        settings (BenchmarkSettings): What to measure.

    Returns:
        dict: ``machine`` (with ``cpu_capability``, ``native_bf16`` and the load average
        before and after the run), ``settings``, ``gemm_peak_flops``
        (per precision that a measured workload uses), ``workloads`` (per name:
        description, precision, FLOPs per call, seconds per round, median seconds,
        images/s, FLOP/s, MFU, peak memory), ``skipped`` (per left-out workload, why)
        and ``ratios``.
    """
    device = torch.device(settings.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda was asked for, but torch sees no CUDA device')
    cfg = Config.fromfile(settings.config)
    if settings.cfg_options:
        cfg.merge_from_dict(settings.cfg_options)

    # Taken first: the load average before the run says what else the machine ran.
    machine = machine_info(device)
    native_bf16, reason = device_bf16(device)
    names, skipped = select_workloads(settings, native_bf16, reason)
    _log(reason)
    for name, why in skipped.items():
        _log(f'{name} {why}')
    if not native_bf16 and any(WORKLOADS[n][1] == 'bf16' for n in names):
        _log('bf16 workloads were asked for on a device without native bf16: expect them '
             'to take many times as long as fp32', level='WARNING')
    settings = BenchmarkSettings(**dict(asdict(settings), workloads=names))

    dtypes = dict(fp32=torch.float32, bf16=torch.bfloat16)
    peaks: Dict[str, float] = {}
    for k in _peak_precisions(names):
        _log(f'measuring the {k} GEMM peak')
        peaks[k] = gemm_peak(device, dtypes[k], settings.gemm_size)
        _log(f'{k} GEMM peak: {peaks[k] / 1e9:.1f} GFLOP/s')

    def sample_peaks() -> None:
        # The peak is the best rate seen: other work on a shared machine only lowers it.
        for k in peaks:
            peaks[k] = max(peaks[k], gemm_peak(device, dtypes[k], settings.gemm_size,
                                               samples=1))

    fns = build_workloads(settings, cfg)
    # Counting runs each workload once more; it also warms up allocators and kernels.
    flops: Dict[str, Optional[int]] = {}
    for name, fn in fns.items():
        _log(f'counting the FLOPs of {name}')
        flops[name] = count_flops(fn) if not name.startswith('cam_eval') else None
    _log(f'timing {", ".join(fns)} in turns: {settings.warmup} warm-up and '
         f'{settings.repeats} timed rounds')
    timed = run_interleaved(fns, device, settings.repeats, settings.warmup,
                            after_round=sample_peaks, on_call=_log_call)

    rows = {}
    for name, res in timed.items():
        description, precision = WORKLOADS[name]
        seconds = median(res['seconds'])
        n = flops[name]
        rate = n / seconds if n else None
        rows[name] = dict(
            description=description,
            precision=precision,
            flops_per_call=n,
            seconds=res['seconds'],
            median_seconds=seconds,
            images_per_second=_items_per_call(name, settings) / seconds,
            flops_per_second=rate,
            mfu=rate / peaks[precision] if rate else None,
            peak_memory_bytes=res['peak_bytes'],
            memory_before_bytes=res['before_bytes'],
            memory_kind=('CUDA allocator peak' if device.type == 'cuda' else
                         'process resident set peak' +
                         ('' if res['exact_memory'] else ' since start')),
        )
    machine['native_bf16'] = dict(value=native_bf16, reason=reason)
    machine['load_average_end'] = load_average()
    return dict(
        machine=machine,
        settings=asdict(settings),
        model=dict(arch=cfg.model.backbone.arch, test_cfg=cfg.model.get('test_cfg'),
                   start_layer=cfg.model.head.get('start_layer'),
                   num_classes=cfg.model.head.num_classes,
                   map_original_size=VOC_IMAGE_SIZES[0]),
        gemm_peak_flops=peaks,
        workloads=rows,
        skipped=skipped,
        ratios=_ratios({name: res['seconds'] for name, res in timed.items()}),
    )


def _log(msg: str, level: str = 'INFO') -> None:
    print_log(msg, logger='current', level=getattr(logging, level))


def _log_call(round_index: Optional[int], name: str, seconds: float) -> None:
    what = 'warm-up' if round_index is None else f'round {round_index + 1}'
    _log(f'{what}: {name} {seconds:.3f} s')


def _fmt(value: Optional[float], scale: float = 1.0, digits: int = 1) -> str:
    return '-' if value is None else f'{value / scale:.{digits}f}'


def machine_line(record: Dict[str, object]) -> str:
    """What a record was measured on, in one line with the CPU's bf16 capability."""
    m = record['machine']
    where = m.get('gpu') or f"{m['cpu']}, {m['cpu_cores']} cores, {m['torch_threads']} threads"
    cap = m.get('cpu_capability')
    line = f"{m['device']} ({where}), torch {m['torch']}"
    if cap:
        line += f"; CPU capability: {cap['summary']}"
    return line


def format_markdown(record: Dict[str, object]) -> str:
    """The record as a markdown table with the machine, the peaks and the ratios."""
    s = record['settings']
    peaks = record['gemm_peak_flops']
    lines = [
        f"{record['model']['arch']} at {s['img_size']} px, batch {s['batch']} "
        f"(x2 views), {s['classes']} classes per image, on {machine_line(record)}; "
        f"medians of {s['repeats']} interleaved rounds.",
        '',
    ]
    if peaks:
        text = ', '.join(f'{k} {_fmt(v, 1e9)} GFLOP/s' for k, v in peaks.items())
        if 'fp32' in peaks and 'bf16' in peaks:
            text += f" ({peaks['bf16'] / peaks['fp32']:.2f}x)"
        lines += [f'Measured GEMM peak: {text}.', '']
    lines += [
        '| workload | precision | GFLOP / call | s / call | images / s | GFLOP/s | MFU '
        '| peak memory (MiB) |',
        '|---|---|---:|---:|---:|---:|---:|---:|',
    ]
    for row in record['workloads'].values():
        mfu = '-' if row['mfu'] is None else f"{100 * row['mfu']:.0f}%"
        lines.append(
            f"| {row['description']} | {row['precision']} | "
            f"{_fmt(row['flops_per_call'], 1e9)} | {row['median_seconds']:.3f} | "
            f"{row['images_per_second']:.2f} | {_fmt(row['flops_per_second'], 1e9)} | "
            f"{mfu} | {row['peak_memory_bytes'] / 2**20:.0f} |")
    if record.get('skipped'):
        lines.append('')
        for name, why in record['skipped'].items():
            lines.append(f'- {name} {why}')
    if record['ratios']:
        lines.append('')
        for label, r in record['ratios'].items():
            rounds = ', '.join(f'{v:.2f}' for v in r['per_round'])
            lines.append(f"- {label}: **{r['value']:.2f}x** ({r['meaning']}; "
                         f'per round {rounds})')
    return '\n'.join(lines)


def write_json(record: Dict[str, object], path: str) -> None:
    """Writes the record as indented JSON (whole or not at all)."""
    text = json.dumps(record, indent=2, default=str) + '\n'
    atomic_write_bytes(path, text.encode())
