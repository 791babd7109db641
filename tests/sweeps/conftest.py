import pytest
from sweep_fakes import FAKE_TRAIN

from projects.acr.sweeps import parse_sweep_spec

COMMAND = ['${env}', '${interpreter}', '${program}', 'configs/acr/vit-tiny_toy.py',
           '--cfg-options', '${args_no_hyphens}']


def _make_spec(method='random', parameters=None, **extra):
    raw = dict(program='tools/train.py', method=method,
               metric=dict(name='cam/mIoU', goal='maximize'), command=COMMAND)
    raw['parameters'] = parameters if parameters is not None else {
        'model.acr_loss.loss_weight': {'values': [0, 125]},
        'optim_wrapper.optimizer.lr': {'distribution': 'log_uniform_values',
                                       'min': 1e-3, 'max': 1e-1},
        'model.head.start_layer': {'distribution': 'int_uniform', 'min': 8, 'max': 11},
        'model.backbone.drop_path_rate': {'distribution': 'uniform', 'min': 0.0, 'max': 0.2},
        'train_cfg.max_epochs': {'value': 10},
    }
    raw.update(extra)
    return parse_sweep_spec(raw, 'sweeps/test.yaml')


@pytest.fixture
def make_spec():
    """Builds a parsed spec (``sweeps/test.yaml``) from a method and parameters."""
    return _make_spec


@pytest.fixture
def fake_repo(tmp_path):
    """A folder with tools/train.py = FAKE_TRAIN, where trials run."""
    tools = tmp_path / 'repo' / 'tools'
    tools.mkdir(parents=True)
    (tools / 'train.py').write_text(FAKE_TRAIN)
    return tmp_path / 'repo'
