from .atomic_io import atomic_open, atomic_save_npz, atomic_write_bytes
from .checkpoint_safe_globals import allow_mmengine_checkpoints, mmengine_checkpoint_globals
from .cpu_capability import CPUCapability, NoNativeBF16Error, detect_cpu_capability
from .latest_checkpoint import find_latest_complete_checkpoint, is_complete_checkpoint
from .process_group import join_gloo_group, torch_env_from_slurm
from .runtime import adapt_config, join_cpu_process_group

__all__ = [
    'atomic_open', 'atomic_save_npz', 'atomic_write_bytes', 'allow_mmengine_checkpoints',
    'mmengine_checkpoint_globals', 'find_latest_complete_checkpoint', 'is_complete_checkpoint',
    'adapt_config', 'join_cpu_process_group', 'join_gloo_group', 'torch_env_from_slurm',
    'CPUCapability', 'NoNativeBF16Error', 'detect_cpu_capability'
]
