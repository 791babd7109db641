"""Trials of a sweep without a server: grid product and seeded random sampling.

``bayes`` needs W&B's server-side optimiser; locally it falls back to random search
with a warning.
"""
import hashlib
import itertools
import json
import math
import re
import warnings
from typing import Any, Dict, List, Optional

import numpy as np

from .sweep_spec import ParameterSpec, SweepSpec

Trial = Dict[str, Any]


def grid_trials(spec: SweepSpec) -> List[Trial]:
    """Every combination of the parameters' values, the first parameter varying slowest.

    Args:
        spec (SweepSpec): A spec whose parameters are all discrete.

    Returns:
        list[dict]: ``prod(len(values))`` trials ``{config key: value}``.
    """
    names = list(spec.parameters)
    grids = [spec.parameters[n].grid_values() for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*grids)]


def _sample(param: ParameterSpec, rng: np.random.Generator) -> Any:
    dist = param.distribution
    if dist == 'constant':
        return param.values[0]
    if dist == 'categorical':
        idx = int(rng.choice(len(param.values), p=param.probabilities))
        return param.values[idx]
    if dist == 'int_uniform':
        return int(rng.integers(int(param.min), int(param.max), endpoint=True))
    if dist == 'uniform':
        return float(rng.uniform(param.min, param.max))
    if dist == 'log_uniform':
        # W&B: min and max are natural logs of the bounds.
        return float(math.exp(rng.uniform(param.min, param.max)))
    if dist == 'log_uniform_values':
        return float(math.exp(rng.uniform(math.log(param.min), math.log(param.max))))
    if dist == 'normal':
        return float(rng.normal(param.mu, param.sigma))
    raise ValueError(f'parameter "{param.name}": cannot sample distribution "{dist}"')


def random_trials(spec: SweepSpec, count: int, seed: int = 0) -> List[Trial]:
    """``count`` independent draws from the parameters' distributions.

    The same seed gives the same trials, so a rerun finds the trials it already ran.

    Args:
        spec (SweepSpec): The sweep.
        count (int): Number of trials.
        seed (int): Seed of the generator.

    Returns:
        list[dict]: ``count`` trials ``{config key: value}``.
    """
    if count < 1:
        raise ValueError(f'count must be at least 1, got {count}')
    rng = np.random.default_rng(seed)
    return [{n: _sample(p, rng) for n, p in spec.parameters.items()} for _ in range(count)]


def sample_trials(spec: SweepSpec, count: Optional[int] = None, seed: int = 0) -> List[Trial]:
    """The trials the local runner runs for ``spec``.

    Args:
        spec (SweepSpec): The sweep.
        count (int, optional): For grid, at most this many (in grid order); for random and
            bayes, exactly this many. Defaults to ``run_cap`` of the spec; random search
            needs one of them.
        seed (int): Seed of random search.

    Returns:
        list[dict]: The trials, each ``{config key: value}``.

    Raises:
        ValueError: Random search without a count.
    """
    count = count if count is not None else spec.run_cap
    if spec.method == 'grid':
        trials = grid_trials(spec)
        return trials[:count] if count is not None else trials
    if spec.method == 'bayes':
        warnings.warn(f'{spec.path}: bayes search needs the W&B server; running it locally '
                      'as random search', UserWarning, stacklevel=2)
    if count is None:
        raise ValueError(f'{spec.path}: {spec.method} search needs a number of trials '
                         '(--count or run_cap in the spec)')
    return random_trials(spec, count, seed)


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        text = f'{value:.4g}'
    else:
        text = str(value)
    return re.sub(r'[^A-Za-z0-9.+-]+', '_', text).strip('_') or 'none'


def trial_name(spec: SweepSpec, trial: Trial) -> str:
    """A readable, deterministic, filesystem-safe name for a trial.

    Built from the last component of each varying parameter's key and its value
    (``loss_weight-125_lr-0.05_start_layer-10``). When that is ambiguous (rounded
    floats, repeated key endings, very long names) a short hash of the exact values is
    appended.

    Args:
        spec (SweepSpec): The sweep.
        trial (dict): The trial's ``{config key: value}``.

    Returns:
        str: The name, also the trial's work dir name.
    """
    varying = [n for n, p in spec.parameters.items() if p.varies] or list(spec.parameters)
    shorts = [n.split('.')[-1] for n in varying]
    parts = [f'{s}-{_fmt_value(trial[n])}' for s, n in zip(shorts, varying)]
    name = '_'.join(parts)
    lossy = any(isinstance(trial[n], float) and float(f'{trial[n]:.4g}') != trial[n]
                for n in varying)
    if lossy or len(set(shorts)) != len(shorts) or len(name) > 96:
        exact = json.dumps({n: trial[n] for n in spec.parameters}, sort_keys=True,
                           default=str)
        digest = hashlib.sha1(exact.encode()).hexdigest()[:8]
        name = f'{name[:96]}_{digest}'
    return name
