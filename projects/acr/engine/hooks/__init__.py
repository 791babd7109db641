"""Training hooks."""
from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .cam_quality_hook import CAMQualityHook

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'CAMQualityHook']
