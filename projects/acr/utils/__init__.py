from .atomic_io import atomic_open, atomic_save_npz, atomic_write_bytes
from .checkpoint_safe_globals import allow_mmengine_checkpoints, mmengine_checkpoint_globals
from .runtime import prepare_runtime

__all__ = [
    'atomic_open', 'atomic_save_npz', 'atomic_write_bytes', 'allow_mmengine_checkpoints',
    'mmengine_checkpoint_globals', 'prepare_runtime'
]
