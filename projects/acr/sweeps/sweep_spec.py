"""W&B sweep specifications (``configs/sweeps/*.yaml``), parsed and checked.

A spec is a W&B sweep configuration whose parameter names are config keys
(``model.acr_loss.loss_weight``) and whose ``command`` calls ``tools/train.py`` with
``--cfg-options ${args_no_hyphens}``::

    program: tools/train.py
    method: random                    # grid | random | bayes
    metric: {name: cam/mIoU, goal: maximize}
    parameters:
      model.acr_loss.loss_weight: {values: [0, 125]}
      optim_wrapper.optimizer.lr: {distribution: log_uniform_values, min: 1.0e-3, max: 1.0e-1}
      train_cfg.max_epochs: {value: 4}
    command:
      - ${env}
      - ${interpreter}
      - ${program}
      - configs/acr/vit-tiny_toy.py
      - --cfg-options
      - ${args_no_hyphens}

The same file is sent unchanged to ``wandb.sweep`` and run by the local runner (an Optuna
study, :mod:`.optuna_study`). ``early_terminate: {type: hyperband, min_iter: 1, eta: 3}``
stops weak trials early on both. In YAML flow lists (``[a, b]``) the ``${...}`` macros must
be quoted.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import yaml

METHODS = ('grid', 'random', 'bayes')
GOALS = ('maximize', 'minimize')
# W&B's distributions. The local runner maps each onto Optuna (:mod:`.optuna_space`) and
# names the parameter of one that has no Optuna counterpart (normal, beta, ...).
DISTRIBUTIONS = ('constant', 'categorical', 'int_uniform', 'uniform', 'q_uniform', 'log_uniform',
                 'log_uniform_values', 'q_log_uniform', 'q_log_uniform_values',
                 'inv_log_uniform', 'inv_log_uniform_values', 'normal', 'q_normal',
                 'log_normal', 'q_log_normal', 'beta', 'q_beta')
# Distributions without bounds, with their parameters and W&B's defaults.
SHAPED_DISTRIBUTIONS = {'normal': ('mu', 'sigma'), 'q_normal': ('mu', 'sigma'),
                        'log_normal': ('mu', 'sigma'), 'q_log_normal': ('mu', 'sigma'),
                        'beta': ('a', 'b'), 'q_beta': ('a', 'b')}
SHAPE_DEFAULTS = {'mu': 0.0, 'sigma': 1.0, 'a': 1.0, 'b': 1.0}
EARLY_TERMINATE_KEYS = ('type', 'min_iter', 'max_iter', 's', 'eta', 'strict')
# Macros of a W&B sweep ``command`` that the runners expand.
COMMAND_MACROS = ('${env}', '${interpreter}', '${program}', '${args}', '${args_no_hyphens}')


class SweepSpecError(ValueError):
    """A sweep spec that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class ParameterSpec:
    """One swept parameter.

    Attributes:
        name (str): Config key, e.g. ``'optim_wrapper.optimizer.lr'``.
        distribution (str): One of :data:`DISTRIBUTIONS`.
        values (tuple): Candidate values (``constant`` / ``categorical``).
        probabilities (tuple, optional): Sampling weights of ``values`` (random search).
        min (float, optional): Lower bound (``uniform``, ``int_uniform``, ``log_uniform*``).
        max (float, optional): Upper bound.
        q (float, optional): Quantisation step of the ``q_*`` distributions (W&B's
            default 1).
        shape (dict): ``mu`` / ``sigma`` (normal, log-normal) or ``a`` / ``b`` (beta).
    """
    name: str
    distribution: str
    values: tuple = ()
    probabilities: Optional[tuple] = None
    min: Optional[float] = None
    max: Optional[float] = None
    q: Optional[float] = None
    shape: Dict[str, float] = field(default_factory=dict)

    @property
    def is_discrete(self) -> bool:
        """Whether grid search can enumerate it."""
        return self.distribution in ('constant', 'categorical', 'int_uniform')

    def grid_values(self) -> List[Any]:
        """All values, for grid search.

        Raises:
            ValueError: The parameter is continuous.
        """
        if self.distribution == 'int_uniform':
            return list(range(int(self.min), int(self.max) + 1))
        if self.distribution in ('constant', 'categorical'):
            return list(self.values)
        raise ValueError(f'parameter "{self.name}" has the continuous distribution '
                         f'"{self.distribution}", which grid search cannot enumerate')

    @property
    def varies(self) -> bool:
        """False for parameters with a single value (they are not part of trial names)."""
        return not (self.distribution in ('constant', 'categorical') and len(self.values) == 1)


@dataclass(frozen=True)
class EarlyTerminateSpec:
    """W&B's hyperband early stopping (``early_terminate``).

    An iteration is one logged value of the sweep's metric (one validation), as on W&B.
    The brackets are at ``min_iter * eta^k``, or, with ``max_iter`` and ``s``, at
    ``max_iter / eta^k`` for ``k = 1..s``.

    Attributes:
        type (str): ``'hyperband'``.
        min_iter (int, optional): First bracket.
        max_iter (int, optional): Iterations of a full trial (with ``s``).
        s (int, optional): Number of brackets below ``max_iter``.
        eta (float): Reduction factor (W&B's default 3).
        strict (bool): W&B's stricter variant.
    """
    type: str = 'hyperband'
    min_iter: Optional[int] = None
    max_iter: Optional[int] = None
    s: Optional[int] = None
    eta: float = 3
    strict: bool = False


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep spec.

    Attributes:
        path (str): The YAML file (or ``'<dict>'``).
        name (str): ``name`` from the file, else the file's stem.
        method (str): ``grid``, ``random`` or ``bayes``.
        metric (str): Metric to optimise, e.g. ``'cam/mIoU'``.
        goal (str): ``'maximize'`` or ``'minimize'``.
        parameters (dict[str, ParameterSpec]): In file order.
        program (str): Script the command runs (``tools/train.py``).
        command (list[str]): The W&B ``command`` with its macros.
        run_cap (int, optional): Maximum number of runs.
        early_terminate (EarlyTerminateSpec, optional): Hyperband early stopping.
        raw (dict): The file's content, as sent to ``wandb.sweep``.
    """
    path: str
    name: str
    method: str
    metric: str
    goal: str
    parameters: Dict[str, ParameterSpec]
    program: str
    command: List[str]
    run_cap: Optional[int] = None
    early_terminate: Optional['EarlyTerminateSpec'] = None
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def config_file(self) -> Optional[str]:
        """The config passed to the program: the first command item after ``${program}``."""
        idx = self.command.index('${program}') if '${program}' in self.command else -1
        if idx >= 0 and idx + 1 < len(self.command) and self.command[idx + 1].endswith('.py'):
            return self.command[idx + 1]
        return None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = ''
        if isinstance(value, str):
            try:
                float(value)
                hint = ' (YAML reads 1e-3 as text: write 1.0e-3)'
            except ValueError:
                pass
        raise SweepSpecError(f'{where} must be a number, got {value!r}{hint}')
    return value


def _parse_parameter(name: str, body: Any, src: str) -> ParameterSpec:
    where = f'{src}: parameters.{name}'
    if not isinstance(body, dict):
        raise SweepSpecError(f'{where} must be a mapping with "value", "values" or a '
                             f'distribution (min/max), got {body!r}')
    if 'parameters' in body:
        raise SweepSpecError(f'{where}: nested parameters are not supported; name the '
                             'parameter by its dotted config key instead '
                             '(e.g. model.head.start_layer)')
    dist = body.get('distribution')
    if dist is not None and dist not in DISTRIBUTIONS:
        raise SweepSpecError(f'{where}.distribution "{dist}" is not supported; use one of '
                             f'{", ".join(DISTRIBUTIONS)}')
    if 'value' in body:
        return ParameterSpec(name, 'constant', values=(body['value'], ))
    if 'values' in body:
        values = body['values']
        if not isinstance(values, list) or not values:
            raise SweepSpecError(f'{where}.values must be a non-empty list, got {values!r}')
        probs = body.get('probabilities')
        if probs is not None:
            if (not isinstance(probs, list) or len(probs) != len(values)
                    or any(_number(p, f'{where}.probabilities') < 0 for p in probs)
                    or sum(probs) <= 0):
                raise SweepSpecError(f'{where}.probabilities must be {len(values)} '
                                     f'non-negative numbers with a positive sum, got {probs!r}')
            probs = tuple(float(p) / sum(probs) for p in probs)
        return ParameterSpec(name, 'categorical', values=tuple(values), probabilities=probs)
    q = _number(body['q'], f'{where}.q') if 'q' in body else None
    if q is not None and q <= 0:
        raise SweepSpecError(f'{where}.q must be positive, got {q}')
    if dist in SHAPED_DISTRIBUTIONS:
        shape = {k: _number(body.get(k, SHAPE_DEFAULTS[k]), f'{where}.{k}')
                 for k in SHAPED_DISTRIBUTIONS[dist]}
        return ParameterSpec(name, dist, q=q, shape=shape)
    if 'min' not in body or 'max' not in body:
        raise SweepSpecError(f'{where} has no values: give "value", "values", or '
                             '"min" and "max" (with an optional "distribution")')
    lo, hi = _number(body['min'], f'{where}.min'), _number(body['max'], f'{where}.max')
    if dist is None:
        # W&B's default: integers when both bounds are integers.
        dist = 'int_uniform' if isinstance(lo, int) and isinstance(hi, int) else 'uniform'
    if dist in ('constant', 'categorical'):
        raise SweepSpecError(f'{where}: distribution "{dist}" needs "value" / "values"')
    if lo > hi:
        raise SweepSpecError(f'{where}: min {lo} is greater than max {hi}')
    if dist.endswith('log_uniform_values') and lo <= 0:
        raise SweepSpecError(f'{where}: {dist} needs min > 0, got {lo}')
    if dist == 'int_uniform' and (int(lo) != lo or int(hi) != hi):
        raise SweepSpecError(f'{where}: int_uniform needs integer min/max, got {lo}, {hi}')
    if dist.startswith('q_') and q is None:
        q = 1  # W&B's default step
    return ParameterSpec(name, dist, min=lo, max=hi, q=q)


def _parse_early_terminate(body: Any, src: str) -> Optional[EarlyTerminateSpec]:
    where = f'{src}: early_terminate'
    if body is None:
        return None
    if not isinstance(body, dict):
        raise SweepSpecError(f'{where} must be a mapping, e.g. '
                             '"{type: hyperband, min_iter: 1, eta: 3}", got {body!r}')
    unknown = sorted(set(body) - set(EARLY_TERMINATE_KEYS))
    if unknown:
        raise SweepSpecError(f'{where}: unknown keys {", ".join(unknown)}; W&B knows '
                             f'{", ".join(EARLY_TERMINATE_KEYS)}')
    if body.get('type') != 'hyperband':
        raise SweepSpecError(f'{where}.type must be "hyperband" (W&B\'s only early '
                             f'termination), got {body.get("type")!r}')
    ints = {}
    for key in ('min_iter', 'max_iter', 's'):
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SweepSpecError(f'{where}.{key} must be a positive integer, '
                                     f'got {value!r}')
            ints[key] = value
    eta = _number(body.get('eta', 3), f'{where}.eta')
    if eta <= 1:
        raise SweepSpecError(f'{where}.eta must be greater than 1, got {eta}')
    if 'min_iter' not in ints and 'max_iter' not in ints:
        raise SweepSpecError(f'{where} needs "min_iter", or "max_iter" and "s"')
    if 'max_iter' in ints and 'min_iter' not in ints and 's' not in ints:
        raise SweepSpecError(f'{where}: "max_iter" needs "s" (the number of brackets)')
    strict = body.get('strict', False)
    if not isinstance(strict, bool):
        raise SweepSpecError(f'{where}.strict must be true or false, got {strict!r}')
    return EarlyTerminateSpec(eta=eta, strict=strict, **ints)


def parse_sweep_spec(raw: Any, path: str = '<dict>') -> SweepSpec:
    """Checks a sweep spec and returns it parsed.

    Args:
        raw (dict): The spec (a loaded YAML file).
        path (str): Where it came from, for error messages.

    Returns:
        SweepSpec: The parsed spec.

    Raises:
        SweepSpecError: Unknown method, missing or malformed metric, a parameter without
            values or distribution, a command without the config options macro.
    """
    if not isinstance(raw, dict):
        raise SweepSpecError(f'{path}: a sweep spec must be a mapping, got {type(raw).__name__}')
    method = raw.get('method')
    if method not in METHODS:
        raise SweepSpecError(f'{path}: method must be one of {", ".join(METHODS)}, '
                             f'got {method!r}')
    metric = raw.get('metric')
    if not isinstance(metric, dict) or not metric.get('name'):
        raise SweepSpecError(f'{path}: metric is missing; add e.g. '
                             '"metric: {name: cam/mIoU, goal: maximize}"')
    goal = metric.get('goal', 'minimize')
    if goal not in GOALS:
        raise SweepSpecError(f'{path}: metric.goal must be maximize or minimize, got {goal!r}')
    params = raw.get('parameters')
    if not isinstance(params, dict) or not params:
        raise SweepSpecError(f'{path}: parameters is missing or empty')
    parameters = {str(k): _parse_parameter(str(k), v, path) for k, v in params.items()}
    if method == 'grid':
        for p in parameters.values():
            if not p.is_discrete:
                raise SweepSpecError(
                    f'{path}: parameters.{p.name}: grid search needs "values" or '
                    f'int_uniform, not the continuous distribution "{p.distribution}"')
    program = raw.get('program')
    if not isinstance(program, str) or not program:
        raise SweepSpecError(f'{path}: program is missing (e.g. "program: tools/train.py")')
    command = raw.get('command', ['${env}', '${interpreter}', '${program}', '${args}'])
    if not isinstance(command, list) or not all(isinstance(c, (str, int, float))
                                                for c in command):
        raise SweepSpecError(f'{path}: command must be a list of strings, got {command!r}')
    command = [str(c) for c in command]
    macros = [c for c in command if c.startswith('${')]
    unknown = [c for c in macros if c not in COMMAND_MACROS]
    if unknown:
        raise SweepSpecError(f'{path}: command uses {", ".join(unknown)}; supported macros: '
                             f'{", ".join(COMMAND_MACROS)}')
    if '${args_no_hyphens}' not in command and '${args}' not in command:
        raise SweepSpecError(f'{path}: command must pass the parameters, e.g. '
                             '"--cfg-options, ${args_no_hyphens}"')
    run_cap = raw.get('run_cap')
    if run_cap is not None and (isinstance(run_cap, bool) or not isinstance(run_cap, int)
                                or run_cap < 1):
        raise SweepSpecError(f'{path}: run_cap must be a positive integer, got {run_cap!r}')
    early_terminate = _parse_early_terminate(raw.get('early_terminate'), path)
    name = raw.get('name') or osp.splitext(osp.basename(path))[0]
    return SweepSpec(path=path, name=str(name), method=method, metric=str(metric['name']),
                     goal=goal, parameters=parameters, program=program, command=command,
                     run_cap=run_cap, early_terminate=early_terminate, raw=raw)


def load_sweep_spec(path: str, method: Optional[str] = None) -> SweepSpec:
    """Reads and checks ``configs/sweeps/*.yaml``.

    Args:
        path (str): The YAML file.
        method (str, optional): Search with this method instead of the file's.

    Returns:
        SweepSpec: The parsed spec.

    Raises:
        FileNotFoundError: No such file.
        SweepSpecError: The file is not valid YAML or not a valid spec.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'sweep spec not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise SweepSpecError(f'{path}: not valid YAML: {exc}') from exc
    if method is not None and isinstance(raw, dict):
        raw = dict(raw, method=method)
    return parse_sweep_spec(raw, path)


def format_cfg_options(params: Dict[str, Any]) -> List[str]:
    """``key=value`` items as W&B's ``${args_no_hyphens}`` writes them.

    Args:
        params (dict): ``{config key: value}``.

    Returns:
        list[str]: One ``key=value`` per parameter, for ``--cfg-options``.
    """
    return [f'{k}={v}' for k, v in params.items()]


def expand_command(spec: SweepSpec, params: Dict[str, Any], interpreter: str,
                   config: Optional[str] = None,
                   extra: Sequence[str] = ()) -> List[str]:
    """The trial's argv: the spec's ``command`` with its macros filled in.

    Args:
        spec (SweepSpec): The sweep.
        params (dict): The trial's ``{config key: value}``.
        interpreter (str): Python executable for ``${interpreter}``.
        config (str, optional): Replaces the config file that follows ``${program}``.
        extra (Sequence[str]): Appended arguments (e.g. ``--work-dir DIR``).

    Returns:
        list[str]: The command line.
    """
    argv: List[str] = []
    prev = None
    for item in spec.command:
        if item == '${env}':
            pass  # W&B puts /usr/bin/env here; the interpreter is called directly.
        elif item == '${interpreter}':
            argv.append(interpreter)
        elif item == '${program}':
            argv.append(spec.program)
        elif item == '${args}':
            argv += ['--' + a for a in format_cfg_options(params)]
        elif item == '${args_no_hyphens}':
            argv += format_cfg_options(params)
        elif config is not None and prev == '${program}' and item == spec.config_file:
            argv.append(config)
        else:
            argv.append(item)
        prev = item
    return argv + list(extra)
