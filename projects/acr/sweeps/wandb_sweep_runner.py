"""Runs a sweep spec through the W&B server: ``wandb.sweep`` plus ``wandb.agent``.

The server picks each trial's parameters (grid, random or bayes); the agent calls
:func:`run_wandb_sweep`'s trial function, which starts ``tools/train.py`` in a
subprocess with the parameters as ``--cfg-options`` and a work dir of its own. The
subprocess inherits the agent's ``WANDB_RUN_ID`` / ``WANDB_SWEEP_ID`` / project, so the
training run's :class:`AutoWandbVisBackend` logs into the sweep's run.
"""
import os
from typing import Any, Dict, List, Optional, Sequence

import yaml

from .local_sweep_runner import LocalSweepRunner
from .sweep_spec import SweepSpec
from .trial_results import TrialResult
from .trial_sampling import trial_name


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
    combination twice, and each of its runs needs its own result).

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

    runner = LocalSweepRunner(spec, sweep_dir, config=config, cfg_options=cfg_options)
    if sweep_id is None:
        sweep_id = wandb.sweep(sweep=spec.raw, project=project, entity=entity)

    def trial() -> None:
        params = read_agent_params(os.environ['WANDB_SWEEP_PARAM_PATH'], spec)
        name = f'{trial_name(spec, params)}-{os.environ.get("WANDB_RUN_ID", "run")}'
        result = runner.run_trial(name, params, skip_finished=False)
        if result.status != 'done':
            # Raising marks the run as failed on the server.
            raise RuntimeError(f'trial {name} failed; see '
                               f'{os.path.join(runner.trial_dir(name), "trial_output.log")}')

    wandb.agent(sweep_id, function=trial, project=project, entity=entity, count=count)
    results = runner.collect()
    if results:
        print(runner.summarize(results))
    return results
