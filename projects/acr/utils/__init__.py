from .checkpoint_safe_globals import allow_mmengine_checkpoints, mmengine_checkpoint_globals
from .runtime import prepare_runtime

__all__ = ['allow_mmengine_checkpoints', 'mmengine_checkpoint_globals', 'prepare_runtime']
