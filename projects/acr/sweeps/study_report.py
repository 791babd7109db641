"""The report of a sweep's Optuna study: ``results.md``, ``results.json`` and plots.

Everything is read from the study, so any worker (or ``tools/sweep.py --report-only``)
writes the same report, and each file is replaced atomically.
"""
import json
import logging
import os.path as osp
import warnings
from typing import Any, Dict, List

import optuna
from mmengine.logging import print_log
from optuna.exceptions import ExperimentalWarning
from optuna.trial import FrozenTrial, TrialState

from projects.acr.utils.atomic_io import atomic_open

from .optuna_study import display_url
from .sweep_spec import SweepSpec
from .trial_results import TrialResult, results_table, sort_results


def _status(t: FrozenTrial, requeued_as: Dict[int, int]) -> str:
    attrs = t.user_attrs
    resumed = ''
    if 'failed_trial' in t.system_attrs:
        resumed = f', re-queued trial {t.system_attrs["failed_trial"]}'
    if t.state == TrialState.COMPLETE:
        return 'complete' + resumed
    if t.state == TrialState.PRUNED:
        return f'pruned after validation {attrs.get("pruned_at", "?")}' + resumed
    if t.state == TrialState.FAIL:
        if t.number in requeued_as:
            return f'killed, re-queued as trial {requeued_as[t.number]}'
        if attrs.get('exit_code'):
            return f'failed (exit status {attrs["exit_code"]})' + resumed
        if 'exit_code' in attrs:
            return 'failed (no metric logged)' + resumed
        return 'failed (killed)' + resumed
    if t.state == TrialState.WAITING:
        return 'waiting' + resumed
    return t.state.name.lower() + resumed


def _requeued_as(trials: List[FrozenTrial]) -> Dict[int, int]:
    # A retry's history lists every trial it re-runs; the latest retry wins.
    out: Dict[int, int] = {}
    for t in trials:
        history = t.system_attrs.get('retry_history', [])
        if history:
            out[history[-1]] = t.number
    return out


def study_results(study: optuna.Study, spec: SweepSpec) -> List[TrialResult]:
    """The study's trials (not the skipped ones) as table rows, best first."""
    trials = [t for t in study.get_trials(deepcopy=False) if 'skipped' not in t.user_attrs]
    requeued = _requeued_as(trials)
    rows = []
    for t in trials:
        params = dict(t.params)
        best = t.value if t.state == TrialState.COMPLETE else t.user_attrs.get('best')
        rows.append(TrialResult(name=str(t.number), params=params, status=_status(t, requeued),
                                best=best, last=t.user_attrs.get('last'),
                                best_step=t.user_attrs.get('best_step'),
                                command=t.user_attrs.get('command', [])))
    return sort_results(rows, spec.goal)


def _trial_record(t: FrozenTrial) -> Dict[str, Any]:
    duration = t.duration.total_seconds() if t.duration is not None else None
    return dict(number=t.number, state=t.state.name, value=t.value, params=t.params,
                intermediate_values={str(k): v for k, v in sorted(t.intermediate_values.items())},
                seconds=duration, retry_of=t.system_attrs.get('failed_trial'),
                user_attrs=t.user_attrs)


def _save_plot(path: str, plot, study: optuna.Study) -> None:
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ExperimentalWarning)
        warnings.simplefilter('ignore', UserWarning)
        ax = plot(study)
    fig = ax.figure if hasattr(ax, 'figure') else ax.flat[0].figure
    fig.set_size_inches(8, 5)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=100)
    plt.close(fig)


def write_plots(sweep_dir: str, study: optuna.Study) -> List[str]:
    """Optuna's optimisation history, parameter importances and learning curves as PNGs.

    A plot that cannot be drawn yet (importances need two finished trials that differ)
    is left out with a message.

    Returns:
        list[str]: The files written.
    """
    from optuna.visualization import matplotlib as ovm
    done = [t for t in study.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    plots = [('optimization_history.png', ovm.plot_optimization_history, 1),
             ('param_importances.png', ovm.plot_param_importances, 2),
             ('intermediate_values.png', ovm.plot_intermediate_values, 1)]
    written = []
    for name, plot, needed in plots:
        complete = [t for t in done if t.state == TrialState.COMPLETE]
        if len(complete if name != 'intermediate_values.png' else done) < needed:
            continue
        path = osp.join(sweep_dir, name)
        try:
            _save_plot(path, plot, study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            print_log(f'{name} not drawn: {exc}', logger='current', level=logging.WARNING)
            continue
        written.append(path)
    return written


def write_study_report(sweep_dir: str, study: optuna.Study, spec: SweepSpec,
                       plots: bool = True) -> str:
    """Writes ``results.md``, ``results.json`` and (``plots``) the PNGs to ``sweep_dir``.

    Returns:
        str: The markdown table.
    """
    results = study_results(study, spec)
    names = [n for n, p in spec.parameters.items() if p.varies]
    table = results_table(results, spec.metric, spec.goal, names)
    counts: Dict[str, int] = {}
    for r in results:
        state = r.status.split(' ')[0].rstrip(',')
        counts[state] = counts.get(state, 0) + 1
    summary = ', '.join(f'{n} {s}' for s, n in sorted(counts.items()))
    storage = display_url(getattr(study._storage, 'url', ''))
    head = (f'# Sweep {spec.name}\n\nMetric: {spec.metric} ({spec.goal}), the best value over '
            f'each trial\'s validations. Method: {spec.method}. Study "{study.study_name}" in '
            f'`{storage}`: {summary or "no trials"}.\n\n')
    drawn = write_plots(sweep_dir, study) if plots else []
    figures = ''.join(f'![{osp.splitext(osp.basename(p))[0]}]({osp.basename(p)})\n'
                      for p in drawn)
    with atomic_open(osp.join(sweep_dir, 'results.md'), 'w') as f:
        f.write(head + table + ('\n' + figures if figures else ''))
    with atomic_open(osp.join(sweep_dir, 'results.json'), 'w') as f:
        json.dump(dict(study=study.study_name, storage=storage, metric=spec.metric,
                       goal=spec.goal, method=spec.method,
                       trials=[_trial_record(t) for t in study.get_trials(deepcopy=False)]),
                  f, indent=2, default=str)
    return table
