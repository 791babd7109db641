"""Joining a process group: the one place where CPU (gloo) groups are set up.

Training (``tools/train.py`` under torchrun without GPUs) and the tools that shard work
over processes (class maps, pseudo labels) join their groups here, so the rendezvous
variables, the backend and the timeout are decided once.
"""
import datetime
import os
import subprocess
from typing import Optional

import torch.distributed as torch_dist

# Ranks that finish their share early wait for the others in the final gather.
DEFAULT_TIMEOUT = datetime.timedelta(hours=12)
DEFAULT_PORT = 29500


def torch_env_from_slurm(port: Optional[int] = None) -> None:
    """Sets torchrun's rendezvous variables from a Slurm task's.

    ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` come from ``SLURM_PROCID``,
    ``SLURM_NTASKS`` and ``SLURM_LOCALID``; ``MASTER_ADDR`` (unless set) is the first host
    of ``SLURM_NODELIST``; ``MASTER_PORT`` is ``port``, else ``$MASTER_PORT``, else 29500.

    Raises:
        KeyError: Not inside a Slurm task (``SLURM_PROCID`` missing).
    """
    if 'SLURM_PROCID' not in os.environ:
        raise KeyError('SLURM_PROCID is not set: --launcher slurm needs a Slurm task '
                       '(srun), torchrun needs --launcher pytorch')
    env = os.environ
    # Slurm's numbering is authoritative for its tasks (a tool may have set LOCAL_RANK 0).
    env['RANK'] = env['SLURM_PROCID']
    env['WORLD_SIZE'] = env.get('SLURM_NTASKS', '1')
    env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
    if 'MASTER_ADDR' not in env:
        nodes = env.get('SLURM_NODELIST') or env.get('SLURM_JOB_NODELIST')
        if not nodes:
            raise KeyError('SLURM_NODELIST is not set: cannot tell the rendezvous host; '
                           'set MASTER_ADDR')
        hosts = subprocess.run(['scontrol', 'show', 'hostnames', nodes], check=True,
                               capture_output=True, text=True).stdout.split()
        env['MASTER_ADDR'] = hosts[0]
    if port is not None:
        env['MASTER_PORT'] = str(port)
    env.setdefault('MASTER_PORT', str(DEFAULT_PORT))


def join_gloo_group(timeout: datetime.timedelta = DEFAULT_TIMEOUT) -> None:
    """Joins the gloo process group described by the environment (``RANK``, ...).

    Does nothing when a group exists already. mmengine's launchers are not used for CPU
    groups: they select a CUDA device even for gloo.

    Args:
        timeout (datetime.timedelta): How long collectives wait for slow ranks.
    """
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo', timeout=timeout)
