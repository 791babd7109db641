"""Adjustments of a config to the machine it runs on."""
from typing import Any

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .checkpoint_safe_globals import allow_mmengine_checkpoints


def _replace_sync_bn(node: Any) -> None:
    """Turns every ``SyncBN`` norm config inside a (nested) model config into ``BN``."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _replace_sync_bn(value)


def prepare_runtime(cfg: Config, amp: bool = False) -> Config:
    """Makes a config runnable here, in place.

    * gloo instead of NCCL when there is no GPU;
    * mixed precision on request: fp16 with dynamic loss scaling on GPU, bf16 autocast on CPU;
    * mmengine checkpoints loadable by ``torch.load(weights_only=True)``;
    * SyncBN -> BN for multi-process CPU runs;
    * under torchrun without a GPU (``cfg.launcher == 'pytorch'``), the process group
      joined with gloo and DDP set up for CPU modules: mmengine's launcher would call
      ``torch.cuda.set_device`` and wrap the model with ``device_ids=[LOCAL_RANK]``.

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
        if cfg.get('launcher', 'none') != 'none':
            # SyncBN needs CUDA; a single process gets BN from mmengine's runner anyway.
            _replace_sync_bn(cfg.get('model'))
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
    if cfg.get('launcher', 'none') == 'pytorch' and not cuda \
            and not torch.distributed.is_initialized():
        # mmengine uses a group that exists already as it is.
        torch.distributed.init_process_group(backend='gloo')
        ddp = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        ddp['device_ids'] = None
        cfg.model_wrapper_cfg = ddp
    return cfg
