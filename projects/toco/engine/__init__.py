from .poly_warmup_lr import PolyWarmupLR, PolyWarmupParamScheduler, poly_warmup_factor

__all__ = ['PolyWarmupLR', 'PolyWarmupParamScheduler', 'poly_warmup_factor']
