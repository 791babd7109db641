"""The scheduler against ToCo's PolyWarmupAdamW (utils/optimizer.py)."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import PARAM_SCHEDULERS

from projects.toco.engine import poly_warmup_factor


class RefPolyWarmupAdamW(torch.optim.AdamW):
    """As ToCo writes it: the rate of each group is set at the start of step()."""

    def __init__(self, params, lr, weight_decay, betas, warmup_iter=None, max_iter=None,
                 warmup_ratio=None, power=None):
        super().__init__(params, lr=lr, betas=betas, weight_decay=weight_decay, eps=1e-8)
        self.global_step = 0
        self.warmup_iter = warmup_iter
        self.warmup_ratio = warmup_ratio
        self.max_iter = max_iter
        self.power = power
        self.__init_lr = [group['lr'] for group in self.param_groups]

    def step(self, closure=None):
        if self.global_step < self.warmup_iter:
            lr_mult = 1 - (1 - self.global_step / self.warmup_iter) * (1 - self.warmup_ratio)
            for i in range(len(self.param_groups)):
                self.param_groups[i]['lr'] = self.__init_lr[i] * lr_mult
        elif self.global_step < self.max_iter:
            lr_mult = (1 - self.global_step / self.max_iter)**self.power
            for i in range(len(self.param_groups)):
                self.param_groups[i]['lr'] = self.__init_lr[i] * lr_mult
        super().step(closure)
        self.global_step += 1


def _params():
    torch.manual_seed(0)
    return [torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(2))]


def test_rates_and_weights_match_official_optimizer():
    warmup, max_iters = 5, 20
    p_ref, p = _params(), _params()
    ref = RefPolyWarmupAdamW([dict(params=[p_ref[0]], lr=6e-5), dict(params=[p_ref[1]],
                                                                     lr=6e-4)],
                             lr=6e-5, weight_decay=0.01, betas=(0.9, 0.999),
                             warmup_iter=warmup, max_iter=max_iters, warmup_ratio=1e-6,
                             power=0.9)
    opt = torch.optim.AdamW([dict(params=[p[0]], lr=6e-5), dict(params=[p[1]], lr=6e-4)],
                            lr=6e-5, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8)
    wrapper = OptimWrapper(opt)
    sched = PARAM_SCHEDULERS.build(dict(type='PolyWarmupLR', optimizer=wrapper,
                                        warmup_iters=warmup, warmup_ratio=1e-6,
                                        max_iters=max_iters, power=0.9))
    for it in range(max_iters + 4):
        for params, o in ((p_ref, ref), (p, opt)):
            o.zero_grad()
            sum((x**2).sum() * (it + 1) for x in params).backward()
        ref.step()
        used = [g['lr'] for g in opt.param_groups]
        opt.step()
        sched.step()  # mmengine steps the scheduler after the iteration
        assert used == pytest.approx([g['lr'] for g in ref.param_groups], rel=1e-12)
        for a, b in zip(p, p_ref):
            torch.testing.assert_close(a, b)


def test_factor_jumps_at_the_end_of_warmup():
    assert poly_warmup_factor(0, 1500, 1e-6, 20000, 0.9) == pytest.approx(1e-6)
    end_of_warmup = poly_warmup_factor(1499, 1500, 1e-6, 20000, 0.9)
    assert end_of_warmup == pytest.approx(1 - 1 / 1500, rel=1e-6)
    assert poly_warmup_factor(1500, 1500, 1e-6, 20000, 0.9) == pytest.approx(0.925**0.9)
    assert poly_warmup_factor(20000, 1500, 1e-6, 20000, 0.9) is None


def test_epoch_based_use_is_rejected():
    opt = OptimWrapper(torch.optim.SGD(_params(), lr=0.1))
    with pytest.raises(ValueError, match='by_epoch'):
        PARAM_SCHEDULERS.build(dict(type='PolyWarmupLR', optimizer=opt, by_epoch=True))
