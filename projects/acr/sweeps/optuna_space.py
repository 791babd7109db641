"""The parameters of a W&B sweep spec as an Optuna search space.

Each W&B distribution maps onto the Optuna distribution that draws the same values:

==========================  ================================================================
W&B                         Optuna
==========================  ================================================================
``value`` (constant)        not searched: passed to every trial, kept in the study's attrs
``values`` (categorical)    ``CategoricalDistribution(values)``
``int_uniform``             ``IntDistribution(min, max)``
``uniform``                 ``FloatDistribution(min, max)``
``q_uniform``               ``FloatDistribution(min, max, step=q)`` (``IntDistribution`` for
                            an integer ``q`` and bounds); ``min`` and ``max`` must be
                            multiples of ``q``, where W&B's rounding and Optuna's steps agree
``log_uniform``             ``FloatDistribution(exp(min), exp(max), log=True)`` (W&B's bounds
                            are natural logs)
``log_uniform_values``      ``FloatDistribution(min, max, log=True)``
``inv_log_uniform``         ``FloatDistribution(exp(-max), exp(-min), log=True)``: ``log(1/X)``
                            uniform on ``[min, max]`` is ``X`` log-uniform on those bounds
``inv_log_uniform_values``  ``FloatDistribution(min, max, log=True)`` (the same argument)
``q_log_uniform*``          ``IntDistribution(round(lo), round(hi), log=True)`` for ``q = 1``
==========================  ================================================================

``probabilities`` of a categorical, ``q_log_uniform*`` with another ``q``, and the unbounded or
shaped distributions (``normal``, ``q_normal``, ``log_normal``, ``q_log_normal``, ``beta``,
``q_beta``) have no Optuna counterpart: :func:`optuna_distribution` names the parameter.
"""
import math
from typing import Any, Dict, List

from optuna.distributions import (BaseDistribution, CategoricalDistribution, FloatDistribution,
                                  IntDistribution)
from optuna.trial import Trial

from .sweep_spec import ParameterSpec, SweepSpec, SweepSpecError

# Values Optuna can store in a study and compare across workers.
_CHOICE_TYPES = (type(None), bool, int, float, str)


def _is_multiple(value: float, step: float) -> bool:
    return math.isclose(round(value / step) * step, value, rel_tol=1e-9, abs_tol=1e-12)


def optuna_distribution(param: ParameterSpec, src: str = '<spec>') -> BaseDistribution:
    """The Optuna distribution that draws what W&B draws for ``param``.

    Args:
        param (ParameterSpec): A parameter that is not constant.
        src (str): The spec's file, for error messages.

    Returns:
        BaseDistribution: Its Optuna counterpart.

    Raises:
        SweepSpecError: The distribution has no Optuna counterpart (names file and key).
    """
    where = f'{src}: parameters.{param.name}'
    dist = param.distribution
    if dist == 'categorical':
        if param.probabilities is not None:
            raise SweepSpecError(f'{where}.probabilities has no Optuna counterpart (Optuna '
                                 'draws categorical values without weights); remove it or '
                                 'run the sweep on the W&B server')
        bad = [v for v in param.values if not isinstance(v, _CHOICE_TYPES)]
        if bad:
            raise SweepSpecError(f'{where}.values: Optuna stores only numbers, strings, '
                                 f'booleans and null, not {bad[0]!r}')
        return CategoricalDistribution(list(param.values))
    if dist == 'int_uniform':
        return IntDistribution(int(param.min), int(param.max))
    if dist == 'uniform':
        return FloatDistribution(float(param.min), float(param.max))
    if dist == 'q_uniform':
        q = param.q
        if not (_is_multiple(param.min, q) and _is_multiple(param.max, q)):
            raise SweepSpecError(f'{where}: q_uniform with min {param.min} and max {param.max} '
                                 f'that are not multiples of q={q} has no Optuna counterpart '
                                 '(W&B rounds to multiples of q, Optuna steps from min)')
        if all(isinstance(v, int) for v in (q, param.min, param.max)):
            return IntDistribution(param.min, param.max, step=q)
        return FloatDistribution(float(param.min), float(param.max), step=float(q))
    if dist == 'log_uniform':
        return FloatDistribution(math.exp(param.min), math.exp(param.max), log=True)
    if dist == 'inv_log_uniform':
        return FloatDistribution(math.exp(-param.max), math.exp(-param.min), log=True)
    if dist in ('log_uniform_values', 'inv_log_uniform_values'):
        return FloatDistribution(float(param.min), float(param.max), log=True)
    if dist in ('q_log_uniform', 'q_log_uniform_values'):
        if param.q != 1:
            raise SweepSpecError(f'{where}: {dist} with q={param.q} has no Optuna counterpart '
                                 '(Optuna has log-uniform integers, not other steps)')
        lo, hi = param.min, param.max
        if dist == 'q_log_uniform':
            lo, hi = math.exp(lo), math.exp(hi)
        lo, hi = max(1, int(round(lo))), int(round(hi))
        if hi < lo:
            raise SweepSpecError(f'{where}: {dist} holds no integer of at least 1')
        return IntDistribution(lo, hi, log=True)
    if dist == 'constant':
        raise ValueError(f'{where}: a constant is passed to every trial, not searched')
    raise SweepSpecError(f'{where}: the distribution "{dist}" has no Optuna counterpart '
                         '(Optuna searches bounded uniform, log-uniform, integer and '
                         'categorical spaces); give min/max or values, or run the sweep on '
                         'the W&B server')


def search_space(spec: SweepSpec) -> Dict[str, BaseDistribution]:
    """The searched parameters of ``spec`` (all but the constants), in file order.

    Raises:
        SweepSpecError: A parameter without an Optuna counterpart.
    """
    return {name: optuna_distribution(p, spec.path) for name, p in spec.parameters.items()
            if p.distribution != 'constant'}


def constant_params(spec: SweepSpec) -> Dict[str, Any]:
    """``{config key: value}`` of the spec's constants (``value:``)."""
    return {name: p.values[0] for name, p in spec.parameters.items()
            if p.distribution == 'constant'}


def grid_search_space(spec: SweepSpec) -> Dict[str, List[Any]]:
    """Every value of each searched parameter, for ``optuna.samplers.GridSampler``.

    Raises:
        SweepSpecError: A continuous parameter (names the file and key).
    """
    grid = {}
    for name, p in spec.parameters.items():
        if p.distribution == 'constant':
            continue
        try:
            grid[name] = p.grid_values()
        except ValueError as exc:
            raise SweepSpecError(f'{spec.path}: {exc}') from exc
        optuna_distribution(p, spec.path)  # the same checks as the other methods
    return grid


def grid_size(spec: SweepSpec) -> int:
    """Number of points of the grid (1 when only constants are given)."""
    return math.prod(len(v) for v in grid_search_space(spec).values())


def suggest(trial: Trial, name: str, distribution: BaseDistribution) -> Any:
    """Asks ``trial`` for the value of one parameter.

    Args:
        trial (optuna.Trial): The running trial.
        name (str): Config key.
        distribution (BaseDistribution): From :func:`search_space`.

    Returns:
        The value the sampler chose (a fixed value for a re-queued trial).
    """
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high,
                                 step=distribution.step, log=distribution.log)
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high,
                                   step=distribution.step, log=distribution.log)
    raise TypeError(f'parameter "{name}": unexpected distribution {distribution!r}')
