import torch
from mmengine.config import Config

from projects.acr.utils import prepare_runtime


def _cfg():
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')),
                       optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD'))))


def test_gloo_without_gpu_and_mixed_precision_wrapper():
    cfg = prepare_runtime(_cfg(), amp=True)
    if torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'nccl'
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    else:
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.optim_wrapper.type == 'BF16OptimWrapper'


def test_without_amp_the_wrapper_is_untouched():
    cfg = prepare_runtime(_cfg(), amp=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
