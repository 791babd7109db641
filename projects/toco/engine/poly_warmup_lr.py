"""ToCo's learning-rate schedule (its ``PolyWarmupAdamW``) as an mmengine scheduler."""
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmseg.registry import PARAM_SCHEDULERS


def poly_warmup_factor(step: int, warmup_iters: int, warmup_ratio: float, max_iters: int,
                       power: float) -> float:
    """Learning-rate multiplier of optimizer step ``step`` (0-based), or None after the end.

    ``1 - (1 - t / warmup) (1 - ratio)`` (a linear ramp from ``ratio``) for
    ``t < warmup_iters``, then ``(1 - t / max_iters) ** power``: the polynomial decay counts
    from iteration 0, not from the end of the warm-up, so the multiplier drops from 1 to
    ``(1 - warmup / max) ** power`` (0.932 for 1,500 of 20,000) when the warm-up ends.
    From ``max_iters`` on the rate is left as it is.
    """
    if step < warmup_iters:
        return 1 - (1 - step / warmup_iters) * (1 - warmup_ratio)
    if step < max_iters:
        return (1 - step / max_iters)**power
    return None


class PolyWarmupParamScheduler(_ParamScheduler):
    """Linear warm-up then polynomial decay from step 0, per iteration (ToCo).

    Args:
        optimizer (Optimizer | OptimWrapper): The optimizer.
        param_name (str): Scheduled hyper-parameter.
        warmup_iters (int): Warm-up steps (ToCo: 1,500).
        warmup_ratio (float): Multiplier at step 0 (ToCo's ``warmup_lr`` 1e-6, which its
            optimizer uses as a ratio of each group's rate).
        max_iters (int): Steps of the decay (20,000 VOC, 80,000 COCO).
        power (float): Decay power (0.9).
        begin, end, last_step, by_epoch, verbose: As mmengine's schedulers.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 warmup_iters: int = 1500,
                 warmup_ratio: float = 1e-6,
                 max_iters: int = 20000,
                 power: float = 0.9,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = False,
                 verbose: bool = False) -> None:
        if by_epoch:
            raise ValueError('PolyWarmupLR steps per iteration: set by_epoch=False')
        if max_iters <= 0 or warmup_iters < 0:
            raise ValueError(f'PolyWarmupLR: bad warmup_iters {warmup_iters} / max_iters '
                             f'{max_iters}')
        self.warmup_iters = int(warmup_iters)
        self.warmup_ratio = float(warmup_ratio)
        self.max_iters = int(max_iters)
        self.power = float(power)
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self):
        factor = poly_warmup_factor(self.last_step, self.warmup_iters, self.warmup_ratio,
                                    self.max_iters, self.power)
        if factor is None:
            return [group[self.param_name] for group in self.optimizer.param_groups]
        return [base * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class PolyWarmupLR(LRSchedulerMixin, PolyWarmupParamScheduler):
    """:class:`PolyWarmupParamScheduler` of the learning rate."""
