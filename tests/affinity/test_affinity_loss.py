import math

import torch

from projects.acr.affinity import AffinityLoss


def test_loss_terms_equal_psa_formula():
    aff = torch.tensor([[0.9, 0.2, 0.5, 0.7], [0.3, 0.8, 0.6, 0.1]])
    bg = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.bool)
    fg = torch.tensor([[0, 0, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    neg = torch.tensor([[0, 1, 0, 1], [1, 0, 0, 1]], dtype=torch.bool)
    out = AffinityLoss()(aff, bg, fg, neg)
    eps = 1e-5
    bg_ref = -(math.log(0.9 + eps) + math.log(0.8 + eps)) / 2
    fg_ref = -math.log(0.5 + eps)
    neg_ref = -sum(math.log(1 + eps - a) for a in (0.2, 0.7, 0.3, 0.1)) / 4
    assert math.isclose(out['loss_aff_bg'].item(), bg_ref / 4, rel_tol=1e-5)
    assert math.isclose(out['loss_aff_fg'].item(), fg_ref / 4, rel_tol=1e-5)
    assert math.isclose(out['loss_aff_neg'].item(), neg_ref / 2, rel_tol=1e-5)
    assert out['num_neg'].item() == 4


def test_empty_kind_contributes_zero_with_finite_gradient():
    aff = torch.full((1, 3), 0.5, requires_grad=True)
    none = torch.zeros(1, 3, dtype=torch.bool)
    out = AffinityLoss()(aff, none, none, torch.tensor([[True, False, False]]))
    assert out['loss_aff_bg'].item() == 0 and out['loss_aff_fg'].item() == 0
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    assert torch.isfinite(aff.grad).all() and aff.grad[0, 1] == 0
