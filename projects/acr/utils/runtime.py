"""Adjustments of a config to the machine it runs on."""
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .checkpoint_safe_globals import allow_mmengine_checkpoints


def prepare_runtime(cfg: Config, amp: bool = False) -> Config:
    """Makes a config runnable here, in place.

    * gloo instead of NCCL when there is no GPU;
    * mixed precision on request: fp16 with dynamic loss scaling on GPU, bf16 autocast on CPU;
    * mmengine checkpoints loadable by ``torch.load(weights_only=True)``.

    Args:
        cfg (Config): The full config.
        amp (bool): Turn on mixed precision.

    Returns:
        Config: ``cfg`` itself.
    """
    allow_mmengine_checkpoints()
    cuda = torch.cuda.is_available()
    if not cuda:
        env = cfg.setdefault('env_cfg', {})
        env.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if amp:
        wrapper = cfg.optim_wrapper
        if wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log('AMP is already on in the config', logger='current')
        else:
            # mmengine's AmpOptimWrapper needs an accelerator.
            if cuda:
                wrapper.type = 'AmpOptimWrapper'
                wrapper.loss_scale = 'dynamic'
            else:
                wrapper.type = 'BF16OptimWrapper'
    return cfg
