"""Running a config on this machine: config adjustments, and the process-wide set-up.

The two are kept apart on purpose. :func:`adapt_config` only edits the config it is
given; :func:`join_cpu_process_group` (and :func:`allow_mmengine_checkpoints`) change
state of the whole process, and the tools call them by name, before building the runner.
"""
from typing import Any

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from . import cpu_capability
from .process_group import join_gloo_group, torch_env_from_slurm


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


# Launchers whose CPU process groups are joined here (mmengine's would select a GPU).
CPU_GROUP_LAUNCHERS = ('pytorch', 'slurm')


def _cpu_group_launched(cfg: Config) -> bool:
    """Several processes started by torchrun or Slurm, without a GPU."""
    return cfg.get('launcher', 'none') in CPU_GROUP_LAUNCHERS and not torch.cuda.is_available()


def adapt_config(cfg: Config, amp: bool = False) -> Config:
    """Makes a config runnable on this machine, in place; nothing else is changed.

    * gloo instead of NCCL when there is no GPU;
    * mixed precision on request: bf16 autocast on CPU and on GPUs with bf16 (no loss
      scaling needed: bf16 has fp32's range), fp16 with dynamic loss scaling on older GPUs;
      on a CPU without native bf16 (no AVX512-BF16, AMX or Arm BF16) the request is
      refused with :class:`NoNativeBF16Error`: there bf16 products are emulated and
      training would run many times slower than in fp32. Falling back to fp32 instead
      would record a run that asked for bf16 as if it had one (the resolved config, W&B)
      and hide the reason in a log line; stopping costs a second and the message says
      what to do. A config that sets ``BF16OptimWrapper`` itself is run as written
      (the wrapper warns);
    * SyncBN -> BN for multi-process CPU runs;
    * for several processes without a GPU, DDP set up for CPU modules (mmengine's default
      wraps the model with ``device_ids=[LOCAL_RANK]``).

    Args:
        cfg (Config): The full config.
        amp (bool): Turn on mixed precision.

    Returns:
        Config: ``cfg`` itself.

    Raises:
        NoNativeBF16Error: ``amp`` on a CPU-only machine whose CPU has no native bf16.
    """
    cuda = torch.cuda.is_available()
    if not cuda:
        env = cfg.setdefault('env_cfg', {})
        env.setdefault('dist_cfg', {})['backend'] = 'gloo'
        if cfg.get('launcher', 'none') != 'none':
            # SyncBN needs CUDA; a single process gets BN from mmengine's runner anyway.
            _replace_sync_bn(cfg.get('model'))
    if amp:
        wrapper = cfg.optim_wrapper
        if wrapper.get('type', 'OptimWrapper') in ('AmpOptimWrapper', 'BF16OptimWrapper'):
            print_log('mixed precision is already on in the config', logger='current')
        elif cuda and not torch.cuda.is_bf16_supported(including_emulation=False):
            # Before Ampere bf16 is emulated, slower than fp32: fp16 with loss scaling.
            wrapper.type = 'AmpOptimWrapper'
            wrapper.loss_scale = 'dynamic'
        else:
            if not cuda:
                cap = cpu_capability.detect_cpu_capability()
                if not cap.native_bf16:
                    msg = cpu_capability.no_native_bf16_message(
                        cap, 'mixed precision (--amp)',
                        'Run without --amp (fp32), which is the faster choice here; to run '
                        'bf16 anyway (to check its numerics, say), set it in the config: '
                        '--cfg-options optim_wrapper.type=BF16OptimWrapper.')
                    raise cpu_capability.NoNativeBF16Error(msg)
            # bf16 autocast on any device (mmengine's AmpOptimWrapper needs a GPU).
            wrapper.type = 'BF16OptimWrapper'
    if _cpu_group_launched(cfg):
        ddp = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        ddp['device_ids'] = None
        cfg.model_wrapper_cfg = ddp
    return cfg


def join_cpu_process_group(cfg: Config) -> bool:
    """Joins the gloo group of a multi-process run without GPUs (process-wide).

    mmengine's launchers call ``torch.cuda.set_device`` even for gloo; the runner uses a
    group that exists already as it is, so joining it first makes CPU runs work.

    Args:
        cfg (Config): The full config; ``cfg.launcher`` is ``'pytorch'`` (torchrun) or
            ``'slurm'``.

    Returns:
        bool: Whether this call set up a group (False with a GPU or a single process).
    """
    if not _cpu_group_launched(cfg) or torch.distributed.is_initialized():
        return False
    if cfg.launcher == 'slurm':
        torch_env_from_slurm()
    join_gloo_group()
    return True
