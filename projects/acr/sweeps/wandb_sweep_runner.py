"""Runs a sweep spec through the W&B server: ``wandb.sweep`` plus ``wandb.agent``.

The server picks each trial's parameters (grid, random or bayes); the agent calls
:func:`run_wandb_sweep`'s trial function, which starts ``tools/train.py`` in a
subprocess with the parameters as ``--cfg-options`` and a work dir of its own. The
subprocess inherits the agent's ``WANDB_RUN_ID`` / ``WANDB_SWEEP_ID`` / project, so the
training run's :class:`AutoWandbVisBackend` logs into the sweep's run.
"""
import hashlib
import json
import os
import os.path as osp
import re
import sys
from typing import Any, Dict, List, Optional, Sequence

import yaml

from ..utils.tool_runner import log_tail, run_process
from .local_sweep_runner import OUTPUT_LOG, check_trial_options, repo_root, trial_argv
from .sweep_spec import SweepSpec
from .trial_results import TrialResult, read_marker, read_metric, write_marker, write_results


def _fmt_value(value: Any) -> str:
    text = f'{value:.4g}' if isinstance(value, float) else str(value)
    return re.sub(r'[^A-Za-z0-9.+-]+', '_', text).strip('_') or 'none'


def trial_name(spec: SweepSpec, params: Dict[str, Any]) -> str:
    """A readable, filesystem-safe name of a run's parameters.

    The last component of each varying parameter's key and its value
    (``loss_weight-125_lr-0.05``), with a short hash of the exact values when that is
    ambiguous (rounded floats, repeated key endings, long names).
    """
    varying = [n for n, p in spec.parameters.items() if p.varies] or list(spec.parameters)
    shorts = [n.split('.')[-1] for n in varying]
    name = '_'.join(f'{s}-{_fmt_value(params[n])}' for s, n in zip(shorts, varying))
    lossy = any(isinstance(params[n], float) and float(f'{params[n]:.4g}') != params[n]
                for n in varying)
    if lossy or len(set(shorts)) != len(shorts) or len(name) > 96:
        exact = json.dumps({n: params[n] for n in spec.parameters}, sort_keys=True, default=str)
        name = f'{name[:96]}_{hashlib.sha1(exact.encode()).hexdigest()[:8]}'
    return name


def read_agent_params(path: str, spec: SweepSpec) -> Dict[str, Any]:
    """The parameters the agent wrote for the current run, in the spec's order.

    Args:
        path (str): ``WANDB_SWEEP_PARAM_PATH``: YAML ``{key: {value: v}}``.
        spec (SweepSpec): The sweep.

    Returns:
        dict: ``{config key: value}``.

    Raises:
        ValueError: The file lacks one of the spec's parameters (names file and key).
    """
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    params = {}
    for key in spec.parameters:
        entry = data.get(key)
        if not isinstance(entry, dict) or 'value' not in entry:
            raise ValueError(f'{path}: the agent gave no value for parameter "{key}"')
        params[key] = entry['value']
    return params


def run_wandb_sweep(spec: SweepSpec,
                    sweep_dir: str,
                    project: str,
                    entity: Optional[str] = None,
                    count: Optional[int] = None,
                    sweep_id: Optional[str] = None,
                    config: Optional[str] = None,
                    cfg_options: Sequence[str] = ()) -> List[TrialResult]:
    """Creates the sweep (unless ``sweep_id`` is given) and runs an agent on it.

    Trials get work dirs ``<sweep_dir>/<trial name>-<run id>`` (the server may propose a
    combination twice, and each of its runs needs its own result); each finished run
    leaves ``sweep_trial.json`` there with its metric.

    Args:
        spec (SweepSpec): The sweep; ``spec.raw`` is what the server receives.
        sweep_dir (str): Directory of the trials' work dirs and the results table.
        project (str): W&B project.
        entity (str, optional): W&B entity (user or team).
        count (int, optional): Trials this agent runs; None runs until the sweep ends.
        sweep_id (str, optional): Join an existing sweep instead of creating one.
        config (str, optional): Config file replacing the one in the spec's command.
        cfg_options (Sequence[str]): ``key=value`` overrides added to every trial.

    Returns:
        list[TrialResult]: The finished trials found in ``sweep_dir``.
    """
    import wandb

    config = check_trial_options(spec, config, cfg_options)
    cwd = repo_root()
    sweep_dir = osp.abspath(sweep_dir)
    if sweep_id is None:
        sweep_id = wandb.sweep(sweep=spec.raw, project=project, entity=entity)

    def trial() -> None:
        params = read_agent_params(os.environ['WANDB_SWEEP_PARAM_PATH'], spec)
        name = f'{trial_name(spec, params)}-{os.environ.get("WANDB_RUN_ID", "run")}'
        work_dir = osp.join(sweep_dir, name)
        os.makedirs(work_dir, exist_ok=True)
        resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
        argv = trial_argv(spec, params, sys.executable, work_dir, config, cfg_options, resume)
        log_path = osp.join(work_dir, OUTPUT_LOG)
        code, _ = run_process(argv, cwd, dict(os.environ, WANDB_NAME=name), log_path,
                              isolate=True)
        metric = read_metric(work_dir, spec.metric, spec.goal)
        result = TrialResult(name=name, params=params, status='done' if code == 0 else 'failed',
                             best=metric['best'], last=metric['last'],
                             best_step=metric['best_step'], command=argv)
        if code != 0:
            # Raising marks the run as failed on the server.
            raise RuntimeError(f'trial {name} failed (exit status {code}); last lines of '
                               f'{log_path}:\n{log_tail(log_path)}')
        write_marker(work_dir, result)

    wandb.agent(sweep_id, function=trial, project=project, entity=entity, count=count)
    results = [read_marker(osp.join(sweep_dir, d)) for d in sorted(os.listdir(sweep_dir))
               if osp.isdir(osp.join(sweep_dir, d))] if osp.isdir(sweep_dir) else []
    results = [r for r in results if r is not None]
    if results:
        names = [n for n, p in spec.parameters.items() if p.varies]
        print(write_results(sweep_dir, results, spec.metric, spec.goal, names, title=spec.name))
    return results
