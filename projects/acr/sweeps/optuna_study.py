"""A sweep spec as an Optuna study: sampler, pruner, direction and storage.

* ``method``: ``grid`` -> ``GridSampler`` over every combination of values, ``random`` ->
  ``RandomSampler``, ``bayes`` -> ``TPESampler`` (with ``constant_liar``, so that workers
  running at once do not propose the same point).
* ``metric.goal`` -> the study's direction; the objective is the best value of
  ``metric.name`` over a trial's validations.
* ``early_terminate`` (hyperband) -> ``HyperbandPruner`` on the metric's values in logging
  order: step ``k`` is the ``k``-th validation, W&B's notion of an iteration.
* Storage: any RDB URL Optuna takes (``sqlite:///...``, ``postgresql://...``,
  ``mysql://...``), by default ``sqlite:///<sweep dir>/study.db``, with Optuna's heartbeat:
  a trial whose worker stops beating is failed and re-queued with the same parameters
  (``RetryHeartbeatStaleTrialCallback``).

The study remembers what it was created from (``settings`` in its user attributes: the
spec's search space, metric, program, config and overrides, the seed); a worker that joins
it with other settings is refused, so that all trials of a study are comparable.
"""
import hashlib
import json
import os.path as osp
import random
import time
import uuid
import warnings
from typing import Any, Dict, Optional, Tuple

import optuna
from optuna.exceptions import DuplicatedStudyError, ExperimentalWarning
from optuna.pruners import BasePruner, HyperbandPruner, NopPruner
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import StudyDirection

from .optuna_space import grid_search_space, search_space
from .sweep_spec import SweepSpec, SweepSpecError

STUDY_DB = 'study.db'
SETTINGS_ATTR = 'settings'


def default_storage_url(sweep_dir: str) -> str:
    """``sqlite:///<sweep_dir>/study.db``."""
    return 'sqlite:///' + osp.join(osp.abspath(sweep_dir), STUDY_DB)


def display_url(url: str) -> str:
    """The storage URL without its password, for logs and reports."""
    if not url:
        return url
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL: show only the scheme
        return url.split('://', 1)[0] + '://...'


def study_direction(spec: SweepSpec) -> StudyDirection:
    """``metric.goal`` as Optuna's direction."""
    return StudyDirection.MAXIMIZE if spec.goal == 'maximize' else StudyDirection.MINIMIZE


def build_sampler(spec: SweepSpec, seed: Optional[int]) -> BaseSampler:
    """The sampler of ``spec.method``.

    Args:
        spec (SweepSpec): The sweep.
        seed (int, optional): Seed of random and TPE sampling; the grid's order always
            comes from the study's seed (every worker must agree on which grid index is
            which point).

    Raises:
        SweepSpecError: A parameter without an Optuna counterpart, or a continuous one in
            a grid.
    """
    if spec.method == 'grid':
        return GridSampler(grid_search_space(spec), seed=seed)
    search_space(spec)  # names a parameter without an Optuna counterpart, before any trial
    if spec.method == 'random':
        return RandomSampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ExperimentalWarning)
        return TPESampler(seed=seed, constant_liar=True)


def hyperband_brackets(spec: SweepSpec) -> Tuple[int, Any, float]:
    """``(min_resource, max_resource, reduction_factor)`` of the hyperband pruner.

    W&B's ``min_iter`` is the first bracket; ``max_iter`` with ``s`` puts the first bracket
    at ``max_iter / eta^s``. Without ``max_iter`` Optuna estimates the full length from the
    first finished trial (``'auto'``).
    """
    et = spec.early_terminate
    if et.min_iter is not None:
        min_resource = et.min_iter
    else:
        min_resource = max(1, int(et.max_iter / et.eta**et.s))
    max_resource = et.max_iter if et.max_iter is not None else 'auto'
    return min_resource, max_resource, et.eta


def build_pruner(spec: SweepSpec) -> BasePruner:
    """``HyperbandPruner`` for ``early_terminate: {type: hyperband}``, else no pruning.

    Raises:
        SweepSpecError: ``strict: true``, which Optuna's hyperband has no counterpart of.
    """
    et = spec.early_terminate
    if et is None:
        return NopPruner()
    if et.strict:
        raise SweepSpecError(f'{spec.path}: early_terminate.strict has no Optuna counterpart; '
                             'remove it to run the sweep with Optuna')
    min_resource, max_resource, eta = hyperband_brackets(spec)
    if max_resource != 'auto' and max_resource < min_resource:
        raise SweepSpecError(f'{spec.path}: early_terminate: max_iter {max_resource} is '
                             f'below the first bracket {min_resource}')
    return HyperbandPruner(min_resource=min_resource, max_resource=max_resource,
                           reduction_factor=eta)


def open_storage(url: str, heartbeat_interval: int = 60, grace_period: Optional[int] = None,
                 max_retry: Optional[int] = 2) -> RDBStorage:
    """An RDB storage with heartbeats, whose stale trials are re-queued.

    Args:
        url (str): ``sqlite:///path.db``, ``postgresql://user:pw@host/db``, ...
        heartbeat_interval (int): Seconds between a running trial's heartbeats.
        grace_period (int, optional): Seconds without a heartbeat after which a running
            trial counts as killed; Optuna's default is twice the interval.
        max_retry (int, optional): Times a killed trial is re-queued (None: always).

    Returns:
        RDBStorage: The storage (tables created on first use).
    """
    engine_kwargs = {}
    if url.startswith('sqlite'):
        # Workers write to one file: wait for its lock instead of failing at once.
        engine_kwargs = {'connect_args': {'timeout': 60}}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ExperimentalWarning)
        callback = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        # Two workers that start at once may both create the tables: retry the loser.
        for attempt in range(5):
            try:
                return RDBStorage(url, engine_kwargs=engine_kwargs,
                                  heartbeat_interval=heartbeat_interval,
                                  grace_period=grace_period,
                                  heartbeat_stale_trial_callback=callback)
            except Exception:  # sqlalchemy's OperationalError / IntegrityError
                if attempt == 4:
                    raise
                time.sleep(0.5 + random.random())
    raise AssertionError('unreachable')


def spec_settings(spec: SweepSpec, config: Optional[str], cfg_options: Any,
                  seed: int) -> Dict[str, Any]:
    """What makes two workers' trials comparable: recorded when the study is created."""
    space = {name: {k: v for k, v in vars(p).items() if v not in (None, (), {})}
             for name, p in spec.parameters.items()}
    settings = dict(method=spec.method, metric=spec.metric, goal=spec.goal, parameters=space,
                    program=spec.program, command=spec.command, config=config,
                    cfg_options=list(cfg_options),
                    early_terminate=(vars(spec.early_terminate) if spec.early_terminate
                                     else None),
                    seed=seed)
    # As the storage gives it back (lists, not tuples), so that both sides compare equal.
    return json.loads(json.dumps(settings, default=str))


def settings_digest(settings: Dict[str, Any]) -> str:
    """A short hash of :func:`spec_settings` (ignoring the seed, which joiners may vary)."""
    body = {k: v for k, v in settings.items() if k != 'seed'}
    return hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def create_or_load_study(spec: SweepSpec, storage: RDBStorage, study_name: str,
                         settings: Dict[str, Any],
                         worker_seed: Optional[int] = None) -> Tuple[optuna.Study, bool]:
    """Creates the study, or joins the one of that name when it exists.

    The worker that creates the study samples with ``settings['seed']``; workers that join
    it sample with ``worker_seed`` (a seed of their own, so that they do not propose what
    the first worker proposes); every worker orders the grid with the study's seed.

    Args:
        spec (SweepSpec): The sweep.
        storage (RDBStorage): From :func:`open_storage`.
        study_name (str): The study's name in the storage.
        settings (dict): From :func:`spec_settings`.
        worker_seed (int, optional): Seed of a joining worker's random / TPE sampler.

    Returns:
        tuple[optuna.Study, bool]: The study, and whether this call created it.

    Raises:
        SweepSpecError: The study exists and was created with other settings (names the
            study, the storage and what differs).
    """
    direction = study_direction(spec)
    pruner = build_pruner(spec)
    seed = settings['seed']
    try:
        study = optuna.create_study(storage=storage, study_name=study_name,
                                    direction=direction, pruner=pruner,
                                    sampler=build_sampler(spec, seed))
    except DuplicatedStudyError:
        pass
    else:
        study.set_user_attr(SETTINGS_ATTR, settings)
        study.set_user_attr('settings_digest', settings_digest(settings))
        study.set_user_attr('uid', uuid.uuid4().hex)
        return study, True
    # Another worker created it: wait for its attributes (written right after creation).
    for _ in range(600):
        summary = optuna.load_study(study_name=study_name, storage=storage)
        if 'uid' in summary.user_attrs:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f'study "{study_name}" in {display_url(storage.url)} has no '
                           'settings; it was not created by tools/sweep.py (use another '
                           '--study-name)')
    recorded = summary.user_attrs[SETTINGS_ATTR]
    if summary.user_attrs.get('settings_digest') != settings_digest(settings):
        differ = sorted(k for k in set(recorded) | set(settings)
                        if k != 'seed' and recorded.get(k) != settings.get(k))
        raise SweepSpecError(f'{spec.path}: study "{study_name}" in {display_url(storage.url)} '
                             'was created '
                             f'with other settings ({", ".join(differ)} differ); use the same '
                             'spec, --config and --cfg-options, or another --study-name / '
                             '--storage')
    if summary.direction != direction:
        raise SweepSpecError(f'study "{study_name}" in {display_url(storage.url)} has direction '
                             f'{summary.direction.name}, the spec {direction.name}')
    sampler_seed = recorded['seed'] if spec.method == 'grid' else worker_seed
    study = optuna.load_study(study_name=study_name, storage=storage, pruner=pruner,
                              sampler=build_sampler(spec, sampler_seed))
    return study, False
