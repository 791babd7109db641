"""Hyper-parameter sweeps: W&B sweep specs run through the W&B server or an Optuna study."""
from .local_sweep_runner import LocalSweepRunner, TrialFailed, TrialSkipped, repo_root, trial_argv
from .optuna_space import constant_params, grid_search_space, optuna_distribution, search_space
from .optuna_study import (build_pruner, build_sampler, create_or_load_study, default_storage_url,
                           open_storage, study_direction)
from .study_report import study_results, write_study_report
from .sweep_spec import (EarlyTerminateSpec, ParameterSpec, SweepSpec, SweepSpecError,
                         expand_command, format_cfg_options, load_sweep_spec, parse_sweep_spec)
from .trial_results import (TrialResult, metric_history, read_marker, read_metric, results_table,
                            sort_results, validation_curve, write_marker, write_results)
from .wandb_sweep_runner import read_agent_params, run_wandb_sweep, trial_name

__all__ = [
    'LocalSweepRunner', 'TrialFailed', 'TrialSkipped', 'repo_root', 'trial_argv',
    'constant_params', 'grid_search_space', 'optuna_distribution', 'search_space',
    'build_pruner', 'build_sampler', 'create_or_load_study', 'default_storage_url',
    'open_storage', 'study_direction', 'study_results', 'write_study_report',
    'EarlyTerminateSpec', 'ParameterSpec', 'SweepSpec', 'SweepSpecError', 'expand_command',
    'format_cfg_options', 'load_sweep_spec', 'parse_sweep_spec', 'TrialResult',
    'metric_history', 'read_marker', 'read_metric', 'results_table', 'sort_results',
    'validation_curve', 'write_marker', 'write_results', 'read_agent_params',
    'run_wandb_sweep', 'trial_name'
]
