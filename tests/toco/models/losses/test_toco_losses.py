"""ToCo's losses against references written as its model/losses.py writes them."""
import pytest
import torch
import torch.nn.functional as F
from toco_reference import ref_ctc, ref_ptc, ref_seg

from projects.toco.models.losses import (BackgroundForegroundCELoss, ClassTokenContrastLoss,
                                         PatchTokenContrastLoss)
from projects.toco.models.utils import label_to_aff_mask


def test_ptc_matches_official():
    torch.manual_seed(0)
    tokens = torch.randn(2, 16, 4, 5, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 5))
    label[0, 0, :2] = 255
    mask = label_to_aff_mask(label)
    out = PatchTokenContrastLoss(loss_weight=0.2)(tokens, mask)
    ref = 0.2 * ref_ptc(tokens, mask)
    torch.testing.assert_close(out, ref)
    g_out, = torch.autograd.grad(out, tokens)
    g_ref, = torch.autograd.grad(ref, tokens)
    torch.testing.assert_close(g_out, g_ref)


def test_seg_loss_matches_official_and_stays_finite_without_foreground():
    torch.manual_seed(0)
    pred = torch.randn(2, 5, 6, 7)
    label = torch.randint(0, 5, (2, 6, 7))
    label[0, :2] = 255
    loss = BackgroundForegroundCELoss(loss_weight=1.0)
    torch.testing.assert_close(loss(pred, label), ref_seg(pred, label))
    bg_only = torch.where(label == 255, label, torch.zeros_like(label))
    assert torch.isnan(ref_seg(pred, bg_only))  # the official mean over no pixels
    torch.testing.assert_close(loss(pred, bg_only),
                               0.5 * F.cross_entropy(pred, bg_only, ignore_index=255))


@pytest.mark.parametrize('temp', [0.5, 1.0])
def test_ctc_matches_official(temp):
    torch.manual_seed(1)
    b, ncrops, d = 3, 10, 32
    student = (torch.randn(ncrops * b, d) * 0.3).requires_grad_()
    teacher = torch.randn(2 * b, d) * 0.3
    flags = torch.ones(b, ncrops)
    flags[0, 3:7] = 0
    flags[1, 2:] = 0
    out = ClassTokenContrastLoss(temperature=temp, loss_weight=1.0)(student, teacher, flags)
    ref = ref_ctc(student, teacher, flags, ncrops, temp)
    torch.testing.assert_close(out, ref)
    g_out, = torch.autograd.grad(out, student)
    g_ref, = torch.autograd.grad(ref, student)
    torch.testing.assert_close(g_out, g_ref)


def test_ctc_stays_finite_where_the_exponentials_overflow():
    student = torch.randn(10, 8) * 40
    teacher = torch.randn(2, 8) * 40
    flags = torch.tensor([[1., 1., 0, 0, 1, 0, 0, 0, 0, 0]])
    out = ClassTokenContrastLoss(temperature=0.5)(student, teacher, flags)
    assert torch.isfinite(out)
