from .large_fov_head import LargeFOVHead
from .projection_head import ProjectionHead, WeightNormLinear, ema_update

__all__ = ['LargeFOVHead', 'ProjectionHead', 'WeightNormLinear', 'ema_update']
