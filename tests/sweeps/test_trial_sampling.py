import numpy as np
import pytest

from projects.acr.sweeps import grid_trials, random_trials, sample_trials, trial_name


def test_grid_is_the_full_product_in_order(make_spec):
    spec = make_spec('grid', {
        'a': {'values': [1, 2, 3]},
        'b': {'values': ['x', 'y']},
        'c': {'distribution': 'int_uniform', 'min': 0, 'max': 1},
        'd': {'value': 7},
    })
    trials = grid_trials(spec)
    assert len(trials) == 3 * 2 * 2
    assert trials[0] == {'a': 1, 'b': 'x', 'c': 0, 'd': 7}
    assert trials[-1] == {'a': 3, 'b': 'y', 'c': 1, 'd': 7}
    assert len({tuple(t.values()) for t in trials}) == 12
    assert sample_trials(spec, count=5) == trials[:5]


def test_random_sampling_is_seeded_and_within_distributions(make_spec):
    spec = make_spec()
    trials = random_trials(spec, 400, seed=3)
    assert trials == random_trials(spec, 400, seed=3)
    assert trials != random_trials(spec, 400, seed=4)
    lr = np.array([t['optim_wrapper.optimizer.lr'] for t in trials])
    assert lr.min() >= 1e-3 and lr.max() <= 1e-1
    # Log-uniform: about half of the draws below the geometric mean 1e-2.
    assert 0.4 < np.mean(lr < 1e-2) < 0.6
    layers = [t['model.head.start_layer'] for t in trials]
    assert set(layers) == {8, 9, 10, 11} and all(isinstance(v, int) for v in layers)
    drop = np.array([t['model.backbone.drop_path_rate'] for t in trials])
    assert drop.min() >= 0 and drop.max() <= 0.2
    assert {t['model.acr_loss.loss_weight'] for t in trials} == {0, 125}
    assert {t['train_cfg.max_epochs'] for t in trials} == {10}


def test_categorical_probabilities_are_respected(make_spec):
    spec = make_spec(parameters={'a': {'values': ['x', 'y'], 'probabilities': [0.9, 0.1]}})
    draws = [t['a'] for t in random_trials(spec, 1000, seed=0)]
    assert 0.85 < draws.count('x') / 1000 < 0.95


def test_bayes_falls_back_to_random_with_a_warning(make_spec):
    spec = make_spec('bayes')
    with pytest.warns(UserWarning, match='bayes search needs the W&B server'):
        trials = sample_trials(spec, count=4, seed=1)
    assert trials == random_trials(spec, 4, seed=1)


def test_random_needs_a_count(make_spec):
    with pytest.raises(ValueError, match='needs a number of trials'):
        sample_trials(make_spec())
    assert len(sample_trials(make_spec(run_cap=3))) == 3


def test_trial_names_are_deterministic_and_distinct(make_spec):
    spec = make_spec()
    trials = random_trials(spec, 20, seed=0)
    names = [trial_name(spec, t) for t in trials]
    assert names == [trial_name(spec, t) for t in random_trials(spec, 20, seed=0)]
    assert len(set(names)) == 20
    assert all('/' not in n and ' ' not in n and len(n) <= 105 for n in names)
    # Fixed parameters are not part of the name; exact values keep the name short.
    grid = make_spec('grid', {'model.acr_loss.loss_weight': {'values': [0, 125]},
                              'train_cfg.max_epochs': {'value': 1}})
    assert trial_name(grid, {'model.acr_loss.loss_weight': 125,
                             'train_cfg.max_epochs': 1}) == 'loss_weight-125'
