"""What a trial produced: its metric from the mmengine logs, its record, the table.

A trial's work dir holds one ``<timestamp>/vis_data/scalars.json`` per launch (a resumed
trial has several); each line is a JSON dict of the scalars logged at one step, the
validation metrics among them (``{"cam/mIoU": 41.2, ..., "step": 4}``).
"""
import glob
import json
import math
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from projects.acr.utils.atomic_io import atomic_open

MARKER_NAME = 'sweep_trial.json'


@dataclass
class TrialResult:
    """One row of the sweep table.

    Attributes:
        name (str): Trial name (its work dir's name).
        params (dict): ``{config key: value}``.
        status (str): ``'done'``, ``'failed'``, ``'running'`` or ``'pending'`` (W&B
            runs); ``'complete'``, ``'pruned'``, ``'failed'``, ... (Optuna trials), with
            details after the state.
        best (float, optional): Best value of the metric over all validations.
        last (float, optional): Value at the last validation.
        best_step (int, optional): Step (epoch) of ``best``.
        command (list[str]): The command line that ran it.
    """
    name: str
    params: Dict[str, Any]
    status: str = 'pending'
    best: Optional[float] = None
    last: Optional[float] = None
    best_step: Optional[int] = None
    command: List[str] = field(default_factory=list)


def metric_history(work_dir: str, metric: str) -> List[Tuple[Optional[int], float]]:
    """Every logged value of ``metric`` under ``work_dir``, launch after launch.

    Args:
        work_dir (str): The trial's work dir.
        metric (str): Scalar name, e.g. ``'cam/mIoU'``.

    Returns:
        list[tuple[int | None, float]]: ``(step, value)`` in logging order.

    Raises:
        ValueError: A ``scalars.json`` line is not JSON (names the file and line).
    """
    history = []
    # Launch directories are timestamps, so sorting them orders the launches.
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    # A launch killed (or still writing) mid-line leaves a partial last
                    # line: skip it.
                    if f.read().strip():
                        raise ValueError(f'{path}:{lineno}: not JSON ({exc})') from exc
                    break
                if metric in entry:
                    history.append((entry.get('step'), float(entry[metric])))
    return history


def validation_curve(work_dir: str, metric: str) -> List[float]:
    """The metric once per validation, in order: what the pruner sees.

    A resumed launch that logs a step again replaces the earlier value of that step.
    """
    curve: List[float] = []
    index: Dict[int, int] = {}
    for step, value in metric_history(work_dir, metric):
        if step is not None and step in index:
            curve[index[step]] = value
        else:
            if step is not None:
                index[step] = len(curve)
            curve.append(value)
    return curve


def best_of(values: Sequence[Tuple[Optional[int], float]],
            goal: str) -> Tuple[Optional[float], Optional[int]]:
    """``(best value, its step)`` of finite ``(step, value)`` pairs; ``(None, None)`` if none."""
    finite = [(v, s) for s, v in values if math.isfinite(v)]
    if not finite:
        return None, None
    pick = max if goal == 'maximize' else min
    return pick(finite, key=lambda t: t[0])


def read_metric(work_dir: str, metric: str, goal: str = 'maximize') -> Dict[str, Any]:
    """The best and last value of ``metric`` logged under ``work_dir``.

    Args:
        work_dir (str): The trial's work dir.
        metric (str): Scalar name, e.g. ``'cam/mIoU'``.
        goal (str): ``'maximize'`` or ``'minimize'`` (which value is best).

    Returns:
        dict: ``best``, ``best_step``, ``last`` (None when never logged) and ``count``.

    Raises:
        ValueError: A ``scalars.json`` line is not JSON (names the file and line).
    """
    history = metric_history(work_dir, metric)
    best, best_step = best_of(history, goal)
    return dict(best=best, best_step=best_step,
                last=history[-1][1] if history else None, count=len(history))


def marker_path(work_dir: str) -> str:
    """Where the completion marker of a trial lives."""
    return osp.join(work_dir, MARKER_NAME)


def write_marker(work_dir: str, result: TrialResult) -> None:
    """Marks a trial finished, atomically, with its final metric.

    Args:
        work_dir (str): The trial's work dir.
        result (TrialResult): Its result (``status`` is set to ``'done'``).
    """
    result.status = 'done'
    with atomic_open(marker_path(work_dir), 'w') as f:
        json.dump(asdict(result), f, indent=2, default=str)


def read_marker(work_dir: str) -> Optional[TrialResult]:
    """The result of a finished trial, or None when it has not finished.

    Raises:
        ValueError: The marker exists but is not a valid marker (names the file).
    """
    path = marker_path(work_dir)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return TrialResult(**json.load(f))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f'{path}: not a valid trial marker ({exc}); delete it to rerun '
                         'the trial') from exc


def sort_results(results: Sequence[TrialResult], goal: str) -> List[TrialResult]:
    """Best first by ``best``; trials without a metric last, in their original order."""
    with_metric = [r for r in results if r.best is not None]
    without = [r for r in results if r.best is None]
    with_metric.sort(key=lambda r: r.best, reverse=(goal == 'maximize'))
    return with_metric + without


def _cell(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.4g}' if abs(value) < 1e-2 or abs(value) >= 1e4 else f'{value:.2f}'
    return str(value).replace('|', '\\|')


def results_table(results: Sequence[TrialResult], metric: str, goal: str,
                  param_names: Sequence[str]) -> str:
    """A markdown table of the trials, best first.

    Args:
        results (Sequence[TrialResult]): The trials.
        metric (str): Metric name for the headers.
        goal (str): ``'maximize'`` or ``'minimize'``.
        param_names (Sequence[str]): Parameter columns (config keys).

    Returns:
        str: The table, ending with a newline.
    """
    header = (['rank', 'trial'] + list(param_names)
              + [f'best {metric}', 'best step', f'last {metric}', 'status'])
    lines = ['| ' + ' | '.join(header) + ' |',
             '|---:|---|' + '---:|' * len(param_names) + '---:|---:|---:|---|']
    for rank, r in enumerate(sort_results(results, goal), 1):
        cells = ([str(rank), r.name] + [_cell(r.params.get(p)) for p in param_names]
                 + [_cell(r.best), _cell(r.best_step), _cell(r.last), r.status])
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def write_results(sweep_dir: str, results: Sequence[TrialResult], metric: str, goal: str,
                  param_names: Sequence[str], title: str = '') -> str:
    """Writes ``results.md`` (the table) and ``results.json`` to ``sweep_dir`` atomically.

    Returns:
        str: The markdown table.
    """
    table = results_table(results, metric, goal, param_names)
    head = f'# Sweep {title}\n\nMetric: {metric} ({goal})\n\n' if title else ''
    with atomic_open(osp.join(sweep_dir, 'results.md'), 'w') as f:
        f.write(head + table)
    with atomic_open(osp.join(sweep_dir, 'results.json'), 'w') as f:
        json.dump([asdict(r) for r in sort_results(results, goal)], f, indent=2, default=str)
    return table
