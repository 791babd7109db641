"""Tables and the plot of an ablation: mean, spread, per-seed values, paired differences."""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.atomic_io import atomic_open
from .ablation_spec import AblationSpec, MetricSpec


def summarize(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Mean, sample standard deviation (ddof 1) and count of the finite values."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if arr.size == 0:
        return dict(mean=None, std=None, n=0)
    std = float(arr.std(ddof=1)) if arr.size > 1 else None
    return dict(mean=float(arr.mean()), std=std, n=int(arr.size))


def paired_differences(variant: Dict[int, Optional[float]],
                       baseline: Dict[int, Optional[float]]) -> Dict[int, float]:
    """``variant - baseline`` for every seed both have a value for.

    A paired difference removes what the two runs of one seed share (initialisation,
    data order), so its spread is the one that says whether a variant helps.
    """
    out = {}
    for seed, value in variant.items():
        base = baseline.get(seed)
        if value is not None and base is not None:
            out[seed] = value - base
    return out


def _fmt(value: Optional[float], digits: int) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _mean_std(stats: Dict[str, Optional[float]], digits: int) -> str:
    if stats['mean'] is None:
        return '-'
    if stats['std'] is None:
        return _fmt(stats['mean'], digits)
    return f'{stats["mean"]:.{digits}f} ± {stats["std"]:.{digits}f}'


def build_tables(spec: AblationSpec, records: Sequence, variants: Sequence[str],
                 seeds: Sequence[int]) -> Dict:
    """All numbers of the report, as a JSON-ready dict.

    Returns:
        dict: ``{metric name: {variant: {per_seed, mean, std, n, diff: {per_seed, mean,
        std, n}}}}`` over the spec's metrics and diagnostics.
    """
    by_run = {(r.variant, r.seed): r for r in records if r.status == 'done'}
    out = {}
    for metric in spec.metrics + spec.diagnostics:
        per_variant = {}
        base = {s: by_run[(spec.baseline, s)].values.get(metric.name)
                for s in seeds if (spec.baseline, s) in by_run}
        for variant in variants:
            per_seed = {s: by_run[(variant, s)].values.get(metric.name)
                        for s in seeds if (variant, s) in by_run}
            diff = paired_differences(per_seed, base)
            per_variant[variant] = dict(per_seed=per_seed, **summarize(list(per_seed.values())),
                                        diff=dict(per_seed=diff,
                                                  **summarize(list(diff.values()))))
        out[metric.name] = per_variant
    return out


def _metric_table(spec: AblationSpec, metric: MetricSpec, table: Dict, variants: Sequence[str],
                  seeds: Sequence[int], digits: int) -> List[str]:
    head = (['variant', 'mean ± std'] + [f'seed {s}' for s in seeds]
            + [f'Δ vs {spec.baseline} (mean ± std)', 'Δ per seed'])
    lines = [f'**{metric.label}**', '', '| ' + ' | '.join(head) + ' |',
             '|' + '---|' * len(head)]
    for variant in variants:
        row = table[variant]
        diff = row['diff']
        cells = [variant, _mean_std(row, digits)]
        cells += [_fmt(row['per_seed'].get(s), digits) for s in seeds]
        if variant == spec.baseline:
            cells += ['(baseline)', '']
        else:
            cells += [_mean_std(diff, digits),
                      ' '.join(f'{diff["per_seed"][s]:+.{digits}f}' for s in seeds
                               if s in diff['per_seed'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines + ['']


def report_markdown(spec: AblationSpec, records: Sequence, variants: Sequence[str],
                    seeds: Sequence[int], tables: Dict) -> str:
    """The markdown report: one table per metric, then one per diagnostic."""
    done = [r for r in records if r.status == 'done']
    minutes = sum(r.seconds for r in done) / 60
    lines = [f'# Ablation {spec.name}', '',
             f'Config `{spec.config}`, seeds {list(seeds)} (training seed '
             f'`{spec.seed_key}`; the data are fixed), {len(done)} of '
             f'{len(variants) * len(seeds)} runs finished ({minutes:.1f} min). Shared '
             f'options: ' + (', '.join(f'`{k}={v}`' for k, v in spec.options.items()) or
                             'none') + '.', '',
             'Variants: ' + '; '.join(
                 f'`{v}`: ' + (', '.join(
                     ([f'config `{spec.variant_configs[v]}`'] if v in spec.variant_configs
                      else []) + [f'`{k}={x}`' for k, x in spec.variants[v].items()])
                     or 'the config as it is') for v in variants) + '.', '',
             'Mean ± sample standard deviation over seeds; Δ is the paired difference '
             f'to `{spec.baseline}` (same seed), its mean ± standard deviation.', '']
    for metric in spec.metrics:
        lines += _metric_table(spec, metric, tables[metric.name], variants, seeds, 2)
    if spec.diagnostics:
        lines += ['## Diagnostics (last epoch)', '']
        for metric in spec.diagnostics:
            lines += _metric_table(spec, metric, tables[metric.name], variants, seeds, 4)
    failed = [f'{r.variant} seed {r.seed}' for r in records if r.status == 'failed']
    if failed:
        lines += ['Failed: ' + ', '.join(failed), '']
    return '\n'.join(lines)


def plot_report(spec: AblationSpec, tables: Dict, variants: Sequence[str], path: str) -> None:
    """Bars of the mean of each metric per variant, with every seed's value as a point."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    metrics = spec.metrics
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 1, 3.6),
                             squeeze=False)
    x = np.arange(len(variants))
    for ax, metric in zip(axes[0], metrics):
        rows = [tables[metric.name][v] for v in variants]
        means = [np.nan if r['mean'] is None else r['mean'] for r in rows]
        stds = [0.0 if r['std'] is None else r['std'] for r in rows]
        ax.bar(x, means, yerr=stds, color='#9ecae1', edgecolor='#3182bd', capsize=3)
        for i, row in enumerate(rows):
            pts = [v for v in row['per_seed'].values() if v is not None]
            jitter = np.linspace(-0.15, 0.15, len(pts)) if len(pts) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter), pts, color='#08306b', s=12, zorder=3)
        ax.set_xticks(x)
        ax.set_xticklabels(variants, rotation=35, ha='right', fontsize=7)
        ax.set_title(metric.label, fontsize=8)
        finite = [m for m in means if np.isfinite(m)]
        if finite:
            ax.set_ylim(max(0.0, min(finite) - 15), min(100.0, max(finite) + 10))
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=120)
    plt.close(fig)


def write_report(root: str, spec: AblationSpec, records: Sequence, variants: Sequence[str],
                 seeds: Sequence[int]) -> str:
    """Writes ``results.md``, ``results.json`` and ``results.png`` under ``root``.

    Returns:
        str: The markdown.
    """
    os.makedirs(root, exist_ok=True)
    tables = build_tables(spec, records, variants, seeds)
    markdown = report_markdown(spec, records, variants, seeds, tables)
    with atomic_open(osp.join(root, 'results.md'), 'w') as f:
        f.write(markdown + '\n')
    with atomic_open(osp.join(root, 'results.json'), 'w') as f:
        json.dump(dict(spec=spec.path, seeds=list(seeds), variants=list(variants),
                       baseline=spec.baseline, metrics=tables), f, indent=2)
    if any(r.status == 'done' for r in records):
        plot_report(spec, tables, variants, osp.join(root, 'results.png'))
    return markdown
