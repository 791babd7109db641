"""Hyper-parameter sweeps: W&B sweep specs run through the W&B server or locally."""
from .local_sweep_runner import LocalSweepRunner, repo_root
from .sweep_spec import (ParameterSpec, SweepSpec, SweepSpecError, expand_command,
                         format_cfg_options, load_sweep_spec, parse_sweep_spec)
from .trial_results import (TrialResult, read_marker, read_metric, results_table, sort_results,
                            write_marker, write_results)
from .trial_sampling import grid_trials, random_trials, sample_trials, trial_name
from .wandb_sweep_runner import read_agent_params, run_wandb_sweep

__all__ = [
    'LocalSweepRunner', 'repo_root', 'ParameterSpec', 'SweepSpec', 'SweepSpecError',
    'expand_command', 'format_cfg_options', 'load_sweep_spec', 'parse_sweep_spec',
    'TrialResult', 'read_marker', 'read_metric', 'results_table', 'sort_results',
    'write_marker', 'write_results', 'grid_trials', 'random_trials', 'sample_trials',
    'trial_name', 'read_agent_params', 'run_wandb_sweep'
]
