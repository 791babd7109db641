"""W&B distributions -> Optuna distributions, and the errors for those without one."""
import math

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from projects.acr.sweeps import (SweepSpecError, constant_params, grid_search_space,
                                 optuna_distribution, search_space)


@pytest.mark.parametrize('body, expected', [
    ({'values': [0, 25, 125]}, CategoricalDistribution([0, 25, 125])),
    ({'values': ['sgd', 'adamw']}, CategoricalDistribution(['sgd', 'adamw'])),
    ({'min': 1, 'max': 11}, IntDistribution(1, 11)),
    ({'distribution': 'int_uniform', 'min': 8, 'max': 11}, IntDistribution(8, 11)),
    ({'min': 0.0, 'max': 250.0}, FloatDistribution(0.0, 250.0)),
    ({'distribution': 'uniform', 'min': 0.5, 'max': 1.5}, FloatDistribution(0.5, 1.5)),
    ({'distribution': 'q_uniform', 'min': 0.0, 'max': 250.0, 'q': 25.0},
     FloatDistribution(0.0, 250.0, step=25.0)),
    ({'distribution': 'q_uniform', 'min': 0, 'max': 250, 'q': 25},
     IntDistribution(0, 250, step=25)),
    ({'distribution': 'q_uniform', 'min': 2, 'max': 6}, IntDistribution(2, 6, step=1)),
    ({'distribution': 'log_uniform', 'min': math.log(1e-3), 'max': math.log(0.1)},
     FloatDistribution(1e-3, 0.1, log=True)),
    ({'distribution': 'log_uniform_values', 'min': 1e-3, 'max': 0.1},
     FloatDistribution(1e-3, 0.1, log=True)),
    ({'distribution': 'inv_log_uniform', 'min': math.log(10), 'max': math.log(1000)},
     FloatDistribution(1e-3, 0.1, log=True)),
    ({'distribution': 'inv_log_uniform_values', 'min': 1e-3, 'max': 0.1},
     FloatDistribution(1e-3, 0.1, log=True)),
    ({'distribution': 'q_log_uniform_values', 'min': 1, 'max': 64},
     IntDistribution(1, 64, log=True)),
    ({'distribution': 'q_log_uniform', 'min': 0.0, 'max': math.log(64)},
     IntDistribution(1, 64, log=True)),
])
def test_each_wandb_distribution_has_its_optuna_counterpart(make_spec, body, expected):
    spec = make_spec('random', {'p': body})
    got = optuna_distribution(spec.parameters['p'], spec.path)
    assert type(got) is type(expected)
    for attr in ('low', 'high', 'step', 'log', 'choices'):
        if hasattr(expected, attr):
            want, have = getattr(expected, attr), getattr(got, attr)
            if isinstance(want, float):
                assert have == pytest.approx(want, rel=1e-12), attr
            else:
                assert have == want, attr


def test_inverse_log_uniform_draws_what_wandb_draws():
    # W&B: log(1/X) uniform on [min, max]. Then X = exp(-U) lies in [exp(-max), exp(-min)]
    # with log X uniform: the Optuna distribution's bounds and its log scale.
    import numpy as np
    u = np.random.default_rng(0).uniform(math.log(10), math.log(1000), 20000)
    x = np.exp(-u)
    assert x.min() >= 1e-3 and x.max() <= 0.1
    hist, _ = np.histogram(np.log(x), bins=4, range=(math.log(1e-3), math.log(0.1)))
    assert np.all(np.abs(hist / hist.sum() - 0.25) < 0.02)


@pytest.mark.parametrize('body, message', [
    ({'distribution': 'normal', 'mu': 0, 'sigma': 1}, 'parameters.p: the distribution "normal"'),
    ({'distribution': 'q_normal'}, '"q_normal" has no Optuna counterpart'),
    ({'distribution': 'log_normal'}, '"log_normal" has no Optuna counterpart'),
    ({'distribution': 'q_log_normal'}, '"q_log_normal" has no Optuna counterpart'),
    ({'distribution': 'beta', 'a': 2, 'b': 3}, '"beta" has no Optuna counterpart'),
    ({'distribution': 'q_beta'}, '"q_beta" has no Optuna counterpart'),
    ({'values': [1, 2], 'probabilities': [0.9, 0.1]}, 'parameters.p.probabilities has no Optuna'),
    ({'values': [[1, 2], [3, 4]]}, 'parameters.p.values: Optuna stores only'),
    ({'distribution': 'q_log_uniform_values', 'min': 1, 'max': 64, 'q': 2},
     'q_log_uniform_values with q=2 has no Optuna counterpart'),
    ({'distribution': 'q_uniform', 'min': 1, 'max': 10, 'q': 3},
     'q_uniform with min 1 and max 10 that are not multiples of q=3'),
])
def test_distributions_without_counterpart_name_the_key(make_spec, body, message):
    spec = make_spec('random', {'p': body, 'k': {'value': 1}})
    with pytest.raises(SweepSpecError) as info:
        search_space(spec)
    assert message in str(info.value)
    assert 'sweeps/test.yaml: parameters.p' in str(info.value)


def test_constants_are_passed_not_searched(make_spec):
    spec = make_spec()
    space = search_space(spec)
    assert list(space) == ['model.acr_loss.loss_weight', 'optim_wrapper.optimizer.lr',
                           'model.head.start_layer', 'model.backbone.drop_path_rate']
    assert constant_params(spec) == {'train_cfg.max_epochs': 10}


def test_grid_space_lists_every_value(make_spec):
    spec = make_spec('grid', {'a': {'values': [1, 2, 3]}, 'b': {'min': 0, 'max': 1},
                              'c': {'value': 'fixed'}})
    assert grid_search_space(spec) == {'a': [1, 2, 3], 'b': [0, 1]}
