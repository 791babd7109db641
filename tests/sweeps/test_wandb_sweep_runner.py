import math

import pytest
import yaml

from projects.acr.sweeps import read_agent_params, trial_name


def test_agent_params_file(tmp_path, make_spec):
    # The file the W&B agent writes for each run (WANDB_SWEEP_PARAM_PATH).
    from wandb.sdk.lib.config_util import save_config_file_from_dict
    spec = make_spec('grid', {'model.acr_loss.loss_weight': {'values': [0, 125]},
                              'optim_wrapper.optimizer.lr': {'values': [0.05]}})
    path = str(tmp_path / 'config-run.yaml')
    save_config_file_from_dict(path, {'optim_wrapper.optimizer.lr': {'value': 0.05},
                                      'model.acr_loss.loss_weight': {'value': 125}})
    params = read_agent_params(path, spec)
    assert list(params.items()) == [('model.acr_loss.loss_weight', 125),
                                    ('optim_wrapper.optimizer.lr', 0.05)]
    with open(path, 'w') as f:
        yaml.safe_dump({'optim_wrapper.optimizer.lr': {'value': 0.05}}, f)
    with pytest.raises(ValueError, match='no value for parameter "model.acr_loss.loss_weight"'):
        read_agent_params(path, spec)
    assert math.isclose(params['optim_wrapper.optimizer.lr'], 0.05)


def test_run_names_are_readable_and_distinct(make_spec):
    spec = make_spec('grid', {'model.acr_loss.loss_weight': {'values': [0, 125]},
                              'optim_wrapper.optimizer.lr': {'values': [0.05, 1 / 3]},
                              'train_cfg.max_epochs': {'value': 1}})
    base = {'train_cfg.max_epochs': 1}
    assert trial_name(spec, dict(base, **{'model.acr_loss.loss_weight': 125,
                                          'optim_wrapper.optimizer.lr': 0.05})) == \
        'loss_weight-125_lr-0.05'
    # A rounded float gets a hash of the exact values.
    a = trial_name(spec, dict(base, **{'model.acr_loss.loss_weight': 0,
                                       'optim_wrapper.optimizer.lr': 1 / 3}))
    b = trial_name(spec, dict(base, **{'model.acr_loss.loss_weight': 0,
                                       'optim_wrapper.optimizer.lr': 0.33333}))
    assert a.startswith('loss_weight-0_lr-0.3333_') and a != b
