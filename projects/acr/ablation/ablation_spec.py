"""Ablation specs: named variants of one config, each trained with several seeds.

A spec is a YAML file (``configs/ablations/*.yaml``)::

    name: acr_toy                       # runs go to <work dir root>/<name>/<variant>/seed<S>
    config: configs/acr/vit-tiny_toy.py
    seeds: [0, 1, 2]                    # training seeds (randomness.seed); data is fixed
    seed_key: randomness.seed           # optional, this by default
    options:                            # the shared budget, given to every run
      train_cfg.max_epochs: 6
    baseline: no_acr                    # differences are paired against this variant
    variants:                           # name -> config overrides of that variant
      no_acr: {model.acr_loss.loss_weight: 0}
      flip_acr: {}
      crop_acr: {config: configs/acr/other.py}   # 'config': another config file
    evaluations:                        # optional extra tests of each run's last checkpoint
      refined: {model.test_cfg.refine: true}
    requires:                           # optional: file -> command that makes it
      data/toy/.complete.json: [python, tools/dataset_converters/make_toy_dataset.py, data/toy]
    env: {WANDB_MODE: disabled}         # optional environment of the runs
    metrics:                            # the main table: name -> where the value comes from
      cam_val: {label: CAM mIoU (toy val, swept), scalar: cam/mIoU}
      cam_val_refined: {label: ..., evaluation: refined, key: cam/mIoU}
    diagnostics:                        # a second table, same form
      flip_l1: {label: ..., scalar: cam_quality/flip_l1}

A metric is the last logged value of a training scalar (``scalar``), or a metric of an
evaluation (``evaluation`` and ``key``). ``python`` in a ``requires`` command is replaced
by the running interpreter.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import yaml


class AblationSpecError(ValueError):
    """A spec that cannot be run; the message names the file and the key."""


@dataclass
class MetricSpec:
    """Where one reported number comes from.

    Attributes:
        name (str): Column id.
        label (str): Human-readable name.
        scalar (str, optional): A scalar of the training logs (its last value).
        evaluation (str, optional): An evaluation of the spec.
        key (str, optional): The metric of that evaluation.
    """
    name: str
    label: str
    scalar: Optional[str] = None
    evaluation: Optional[str] = None
    key: Optional[str] = None


@dataclass
class AblationSpec:
    """A parsed ablation spec (see the module docstring)."""
    path: str
    name: str
    config: str
    seeds: List[int]
    variants: Dict[str, Dict[str, Any]]
    baseline: str
    metrics: List[MetricSpec]
    diagnostics: List[MetricSpec] = field(default_factory=list)
    options: Dict[str, Any] = field(default_factory=dict)
    variant_configs: Dict[str, str] = field(default_factory=dict)
    evaluations: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    requires: Dict[str, List[str]] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    seed_key: str = 'randomness.seed'

    def config_of(self, variant: str) -> str:
        """The config file a variant trains with."""
        return self.variant_configs.get(variant, self.config)


def _mapping(raw: Any, key: str, path: str, required: bool = False) -> Dict[str, Any]:
    if raw is None and not required:
        return {}
    if not isinstance(raw, dict) or (required and not raw):
        raise AblationSpecError(f'{path}: "{key}" must be a non-empty mapping')
    return dict(raw)


def _metrics(raw: Any, key: str, path: str, evaluations: Dict[str, Any],
             required: bool) -> List[MetricSpec]:
    out = []
    for name, body in _mapping(raw, key, path, required).items():
        where = f'{path}: {key}.{name}'
        if not isinstance(body, dict):
            raise AblationSpecError(f'{where} must be a mapping with "scalar" or '
                                    '"evaluation" and "key"')
        unknown = set(body) - {'label', 'scalar', 'evaluation', 'key'}
        if unknown:
            raise AblationSpecError(f'{where}: unknown keys {sorted(unknown)}')
        metric = MetricSpec(name=str(name), label=str(body.get('label', name)),
                            scalar=body.get('scalar'), evaluation=body.get('evaluation'),
                            key=body.get('key'))
        if (metric.scalar is None) == (metric.evaluation is None):
            raise AblationSpecError(f'{where}: give either "scalar" or "evaluation"')
        if metric.evaluation is not None:
            if metric.evaluation not in evaluations:
                raise AblationSpecError(f'{where}: evaluation "{metric.evaluation}" is not '
                                        f'in "evaluations" ({sorted(evaluations)})')
            if metric.key is None:
                raise AblationSpecError(f'{where}: an evaluation metric needs "key"')
        out.append(metric)
    return out


def parse_ablation_spec(raw: Any, path: str = '<dict>') -> AblationSpec:
    """Checks and parses a spec.

    Args:
        raw (dict): The YAML content.
        path (str): Where it came from (for messages).

    Returns:
        AblationSpec: The spec.

    Raises:
        AblationSpecError: Naming the file and the offending key.
    """
    if not isinstance(raw, dict):
        raise AblationSpecError(f'{path}: an ablation spec is a mapping')
    known = {'name', 'config', 'seeds', 'seed_key', 'options', 'baseline', 'variants',
             'evaluations', 'requires', 'env', 'metrics', 'diagnostics'}
    unknown = set(raw) - known
    if unknown:
        raise AblationSpecError(f'{path}: unknown keys {sorted(unknown)}')
    for key in ('name', 'config', 'seeds', 'variants', 'baseline', 'metrics'):
        if key not in raw:
            raise AblationSpecError(f'{path}: missing "{key}"')
    seeds = raw['seeds']
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
            or len(set(seeds)) != len(seeds)):
        raise AblationSpecError(f'{path}: "seeds" must be a list of distinct integers')
    variants = _mapping(raw['variants'], 'variants', path, required=True)
    for name, options in variants.items():
        if options is not None and not isinstance(options, dict):
            raise AblationSpecError(f'{path}: variants.{name} must be a mapping of config '
                                    'overrides (or empty)')
        if '/' in str(name) or str(name).startswith('.'):
            raise AblationSpecError(f'{path}: variants.{name} is not a usable directory name')
    variants = {str(k): dict(v or {}) for k, v in variants.items()}
    # A variant's 'config' names its config file (e.g. another train pipeline).
    variant_configs = {k: str(v.pop('config')) for k, v in variants.items() if 'config' in v}
    baseline = str(raw['baseline'])
    if baseline not in variants:
        raise AblationSpecError(f'{path}: baseline "{baseline}" is not a variant '
                                f'({sorted(variants)})')
    evaluations = {str(k): dict(v or {}) for k, v in
                   _mapping(raw.get('evaluations'), 'evaluations', path).items()}
    requires = {}
    for target, command in _mapping(raw.get('requires'), 'requires', path).items():
        if not isinstance(command, list) or not command:
            raise AblationSpecError(f'{path}: requires.{target} must be a command (a list)')
        requires[str(target)] = [str(c) for c in command]
    return AblationSpec(
        path=path,
        name=str(raw['name']),
        config=str(raw['config']),
        seeds=list(seeds),
        variants=variants,
        baseline=baseline,
        metrics=_metrics(raw['metrics'], 'metrics', path, evaluations, True),
        diagnostics=_metrics(raw.get('diagnostics'), 'diagnostics', path, evaluations, False),
        options=_mapping(raw.get('options'), 'options', path),
        variant_configs=variant_configs,
        evaluations=evaluations,
        requires=requires,
        env={str(k): str(v) for k, v in _mapping(raw.get('env'), 'env', path).items()},
        seed_key=str(raw.get('seed_key', 'randomness.seed')))


def load_ablation_spec(path: str) -> AblationSpec:
    """Reads and parses a spec file (see :func:`parse_ablation_spec`)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'ablation spec not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise AblationSpecError(f'{path}: not valid YAML: {exc}') from exc
    return parse_ablation_spec(raw, path)
