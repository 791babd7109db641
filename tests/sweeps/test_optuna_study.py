"""Spec -> study: sampler per method, direction, hyperband pruner, storage and settings."""
import glob
import os.path as osp

import optuna
import pytest
from optuna.pruners import HyperbandPruner, NopPruner
from optuna.samplers import GridSampler, RandomSampler, TPESampler
from optuna.study import StudyDirection

from projects.acr.sweeps import (SweepSpecError, build_pruner, build_sampler, create_or_load_study,
                                 load_sweep_spec, open_storage, parse_sweep_spec, repo_root,
                                 search_space, study_direction)
from projects.acr.sweeps.optuna_space import suggest
from projects.acr.sweeps.optuna_study import hyperband_brackets, spec_settings


@pytest.mark.parametrize('method, sampler', [('grid', GridSampler), ('random', RandomSampler),
                                             ('bayes', TPESampler)])
def test_method_maps_to_sampler(make_spec, method, sampler):
    params = {'a': {'values': [1, 2]}, 'b': {'min': 0, 'max': 3}}
    assert isinstance(build_sampler(make_spec(method, params), seed=0), sampler)


def test_tpe_lies_about_running_trials(make_spec):
    # Workers running at once must not all be proposed the same point.
    assert build_sampler(make_spec('bayes'), seed=0)._constant_liar


def _draw(spec, seed, n):
    study = optuna.create_study(sampler=build_sampler(spec, seed),
                                direction=study_direction(spec))
    space = search_space(spec)
    out = []

    def objective(trial):
        out.append({k: suggest(trial, k, d) for k, d in space.items()})
        return 1.0

    study.optimize(objective, n_trials=n)
    return out


def test_random_search_is_seeded_and_within_bounds(make_spec):
    spec = make_spec()
    draws = _draw(spec, 3, 50)
    assert draws == _draw(spec, 3, 50)
    assert draws != _draw(spec, 4, 50)
    lrs = [d['optim_wrapper.optimizer.lr'] for d in draws]
    assert min(lrs) >= 1e-3 and max(lrs) <= 1e-1
    assert {d['model.head.start_layer'] for d in draws} <= {8, 9, 10, 11}
    assert all(isinstance(d['model.head.start_layer'], int) for d in draws)
    assert {d['model.acr_loss.loss_weight'] for d in draws} == {0, 125}


def test_grid_visits_every_point_once(make_spec):
    spec = make_spec('grid', {'a': {'values': [1, 2, 3]}, 'b': {'values': ['x', 'y']},
                              'c': {'value': 7}})
    draws = _draw(spec, 0, 6)
    assert sorted((d['a'], d['b']) for d in draws) == sorted(
        (a, b) for a in (1, 2, 3) for b in ('x', 'y'))


def test_goal_is_direction(make_spec):
    assert study_direction(make_spec()) == StudyDirection.MAXIMIZE
    assert study_direction(make_spec(metric={'name': 'loss', 'goal': 'minimize'})) == \
        StudyDirection.MINIMIZE


@pytest.mark.parametrize('early, brackets', [
    ({'type': 'hyperband', 'min_iter': 2}, (2, 'auto', 3)),
    ({'type': 'hyperband', 'min_iter': 1, 'eta': 2, 'max_iter': 8}, (1, 8, 2)),
    # W&B: max_iter with s puts the first bracket at max_iter / eta^s.
    ({'type': 'hyperband', 'max_iter': 27, 's': 2, 'eta': 3}, (3, 27, 3)),
])
def test_hyperband_maps_to_optuna_pruner(make_spec, early, brackets):
    spec = make_spec(early_terminate=early)
    assert hyperband_brackets(spec) == brackets
    pruner = build_pruner(spec)
    assert isinstance(pruner, HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == brackets
    assert isinstance(build_pruner(make_spec()), NopPruner)


@pytest.mark.parametrize('early, message', [
    ({'type': 'median'}, 'early_terminate.type must be "hyperband"'),
    ({'type': 'hyperband'}, 'needs "min_iter", or "max_iter" and "s"'),
    ({'type': 'hyperband', 'max_iter': 9}, '"max_iter" needs "s"'),
    ({'type': 'hyperband', 'min_iter': 0}, 'early_terminate.min_iter must be a positive'),
    ({'type': 'hyperband', 'min_iter': 1, 'eta': 1}, 'early_terminate.eta must be greater'),
    ({'type': 'hyperband', 'min_iter': 1, 'bands': [1]}, 'unknown keys bands'),
])
def test_bad_early_terminate_names_the_key(make_spec, early, message):
    with pytest.raises(SweepSpecError, match=message) as info:
        make_spec(early_terminate=early)
    assert 'sweeps/test.yaml' in str(info.value)


def test_strict_hyperband_has_no_optuna_counterpart(make_spec):
    spec = make_spec(early_terminate={'type': 'hyperband', 'min_iter': 1, 'strict': True})
    with pytest.raises(SweepSpecError, match='early_terminate.strict has no Optuna'):
        build_pruner(spec)


def test_a_study_refuses_workers_with_other_settings(tmp_path, make_spec):
    storage = open_storage('sqlite:///' + str(tmp_path / 'study.db'))
    spec = make_spec('grid', {'a': {'values': [1, 2]}})
    settings = spec_settings(spec, None, ['x=1'], seed=0)
    study, created = create_or_load_study(spec, storage, 'demo', settings)
    assert created and study.user_attrs['settings']['cfg_options'] == ['x=1']
    # Another seed joins (joiners draw their own seeds); other overrides do not.
    joined, created = create_or_load_study(spec, storage, 'demo',
                                           spec_settings(spec, None, ['x=1'], seed=5))
    assert not created and joined.user_attrs['uid'] == study.user_attrs['uid']
    with pytest.raises(SweepSpecError, match=r'created with other settings \(cfg_options '):
        create_or_load_study(spec, storage, 'demo', spec_settings(spec, None, ['x=2'], 0))
    other = parse_sweep_spec(dict(spec.raw, parameters={'a': {'values': [1, 3]}}),
                             'sweeps/test.yaml')
    with pytest.raises(SweepSpecError, match=r'\(parameters differ\)'):
        create_or_load_study(other, storage, 'demo', spec_settings(other, None, ['x=1'], 0))


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(repo_root(), 'configs', 'sweeps',
                                                           '*.yaml'))))
def test_shipped_specs_make_studies(path):
    spec = load_sweep_spec(path)
    build_sampler(spec, seed=0)
    build_pruner(spec)
    assert search_space(spec)
