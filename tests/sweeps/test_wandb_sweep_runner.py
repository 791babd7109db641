import math

import pytest
import yaml

from projects.acr.sweeps import read_agent_params


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
