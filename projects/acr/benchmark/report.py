"""The performance page, generated from the benchmark's JSON records (one per machine).

Every table of the page is rendered from a record that ``tools/analysis_tools/benchmark.py --json``
wrote, with the machine and CPU capability line of that record and the command that
reproduces it, so no figure is copied by hand.
"""
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from .runner import DEFAULT_WORKLOADS, BenchmarkSettings, format_markdown

#: What the generated page starts with.
HEADER = """# Performance

Generated from the JSON records of `tools/analysis_tools/benchmark.py --json` (one per machine) by

```bash
python tools/analysis_tools/benchmark_report.py {sources} --out {out}
```

Do not edit by hand. How the benchmark measures (interleaved rounds, counted FLOPs, MFU,
memory) is described in the README's "Performance" section. Ratios are medians of
per-round ratios of workloads timed in the same run; read them before the absolute times,
which depend on what else the machine was running (the load average is given).
"""


def load_record(path: str) -> Dict[str, object]:
    """Reads one record, naming the file and what is missing when it is not one."""
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable benchmark record ({exc})') from exc
    missing = [k for k in ('machine', 'settings', 'model', 'workloads', 'ratios')
               if k not in record] if isinstance(record, dict) else ['(a JSON object)']
    if missing:
        raise ValueError(f'{path}: not a benchmark record, missing {missing}')
    return record


def command_line(settings: Dict[str, object]) -> str:
    """The ``tools/analysis_tools/benchmark.py`` command that measures what ``settings`` say."""
    defaults = BenchmarkSettings()
    parts = ['python tools/analysis_tools/benchmark.py']
    options = [('config', '--config'), ('device', '--device'), ('img_size', '--img-size'),
               ('batch', '--batch'), ('classes', '--classes'), ('repeats', '--repeats'),
               ('warmup', '--warmup'), ('eval_images', '--eval-images'),
               ('eval_thresholds', '--eval-thresholds'), ('eval_workers', '--eval-workers'),
               ('gemm_size', '--gemm-size')]
    workloads = tuple(settings.get('workloads') or ())
    if workloads and workloads != DEFAULT_WORKLOADS:
        parts.append('--workloads ' + ' '.join(workloads))
    for key, flag in options:
        value = settings.get(key)
        if value is not None and value != getattr(defaults, key):
            parts.append(f'{flag} {value}')
    if settings.get('cfg_options'):
        opts = ' '.join(f'{k}={v}' for k, v in settings['cfg_options'].items())
        parts.append(f'--cfg-options {opts}')
    return ' '.join(parts)


def _per_round(record: Dict[str, object]) -> List[str]:
    lines = []
    for name, row in record['workloads'].items():
        rounds = ' / '.join(f'{s:.2f}' for s in row['seconds'])
        lines.append(f'`{name}` {rounds}')
    return lines


def format_record_section(record: Dict[str, object], source: str) -> str:
    """One record's section: machine and capability, command, table, ratios, rounds."""
    m = record['machine']
    cap = m.get('cpu_capability') or {}
    title = m.get('gpu') or m['cpu']
    when = m.get('measured_at', 'date not recorded')
    load, load_end = m.get('load_average'), m.get('load_average_end')
    if load is not None and load_end is not None:
        load_text = f', 1-minute load average {load:.2f} at the start, {load_end:.2f} at the end'
    elif load is not None:
        load_text = f', 1-minute load average {load:.2f}'
    else:
        load_text = ''
    lines = [
        f"## {title}, {m['cpu_cores']} cores: {cap.get('summary', 'capability not recorded')}",
        '',
        f'Record: `{source}`, measured {when}{load_text}.',
        '',
        '```bash',
        command_line(record['settings']),
        '```',
        '',
        format_markdown(record),
        '',
        'Seconds per round: ' + '; '.join(_per_round(record)) + '.',
    ]
    return '\n'.join(lines)


def format_report(records: Sequence[Tuple[str, Dict[str, object]]], out: str) -> str:
    """The whole page from ``(source path, record)`` pairs, in the order given."""
    sources = ' '.join(src for src, _ in records)
    parts = [HEADER.format(sources=sources, out=out)]
    parts += [format_record_section(rec, src) for src, rec in records]
    return '\n'.join(parts).rstrip() + '\n'


def relative_source(path: str, start: str) -> str:
    """``path`` relative to ``start`` when inside it (the repository), else as given."""
    rel = osp.relpath(osp.abspath(path), osp.abspath(start))
    return path if rel.startswith('..') else rel
