"""Process-group set-up for tools that shard work over torchrun processes."""
import datetime
from typing import Tuple

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_dist_info, init_dist

LAUNCHERS = ('none', 'pytorch')
# Ranks that finish their shard early wait for the others in the final gather.
GATHER_TIMEOUT = datetime.timedelta(hours=12)


def init_distributed(launcher: str = 'none') -> Tuple[int, int]:
    """Joins the process group that torchrun describes, when asked to.

    NCCL on GPUs through mmengine's ``init_dist`` (which also binds each process to the
    GPU of its ``LOCAL_RANK``); gloo on CPU-only machines directly, since mmengine's
    PyTorch launcher selects a CUDA device even for gloo.

    Args:
        launcher (str): ``'none'`` (one process) or ``'pytorch'`` (torchrun).

    Returns:
        tuple[int, int]: ``(rank, world_size)``.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch_dist.is_initialized():
        return get_dist_info()
    if torch.cuda.is_available():
        init_dist('pytorch', backend='nccl', timeout=GATHER_TIMEOUT.total_seconds())
    else:
        torch_dist.init_process_group(backend='gloo', timeout=GATHER_TIMEOUT)
    return get_dist_info()


def device_of_rank() -> torch.device:
    """The GPU bound to this process, or the CPU."""
    if torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')
