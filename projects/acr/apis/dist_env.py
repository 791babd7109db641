"""Process groups for tools that shard work over processes (torchrun or Slurm ranks)."""
from typing import Tuple

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_dist_info, init_dist

from ..utils.process_group import DEFAULT_TIMEOUT, join_gloo_group, torch_env_from_slurm

LAUNCHERS = ('none', 'pytorch', 'slurm')


def init_distributed(launcher: str = 'none') -> Tuple[int, int]:
    """Joins the process group of the launcher, when asked to.

    ``'pytorch'``: the processes torchrun started (``RANK``, ``WORLD_SIZE``, ...);
    ``'slurm'``: the tasks srun started, on one or several nodes (their ``SLURM_*``
    variables). NCCL on GPUs through mmengine's ``init_dist`` (which also binds each
    process to the GPU of its local rank); gloo on CPU-only machines
    (:func:`join_gloo_group`).

    Args:
        launcher (str): ``'none'`` (one process), ``'pytorch'`` or ``'slurm'``.

    Returns:
        tuple[int, int]: ``(rank, world_size)``.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch_dist.is_initialized():
        return get_dist_info()
    if launcher == 'slurm':
        torch_env_from_slurm()
    if torch.cuda.is_available():
        # With the variables set, Slurm tasks join like torchrun's processes.
        init_dist('pytorch', backend='nccl', timeout=DEFAULT_TIMEOUT.total_seconds())
    else:
        join_gloo_group()
    return get_dist_info()


def device_of_rank() -> torch.device:
    """The GPU bound to this process, or the CPU."""
    if torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')
