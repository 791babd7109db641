"""ToCo's losses against references written as its model/losses.py writes them."""
import pytest
import torch
import torch.nn.functional as F

from projects.toco.models.losses import (BackgroundForegroundCELoss, ClassTokenContrastLoss,
                                         PatchTokenContrastLoss)
from projects.toco.models.utils import label_to_aff_mask


def _ref_ptc(inputs, mask):
    b, c, h, w = inputs.shape
    inputs = inputs.reshape(b, c, h * w)

    def cos_sim(x):
        x = F.normalize(x, p=2, dim=1, eps=1e-8)
        return torch.abs(torch.matmul(x.transpose(1, 2), x))

    inputs_cos = cos_sim(inputs)
    pos_mask = mask == 1
    neg_mask = mask == 0
    return 0.5 * (1 - torch.sum(pos_mask * inputs_cos) / (pos_mask.sum() + 1)) \
        + 0.5 * torch.sum(neg_mask * inputs_cos) / (neg_mask.sum() + 1)


def _ref_seg(pred, label, ignore_index=255):
    bg_label = label.clone()
    bg_label[label != 0] = ignore_index
    bg_loss = F.cross_entropy(pred, bg_label.type(torch.long), ignore_index=ignore_index)
    fg_label = label.clone()
    fg_label[label == 0] = ignore_index
    fg_loss = F.cross_entropy(pred, fg_label.type(torch.long), ignore_index=ignore_index)
    return (bg_loss + fg_loss) * 0.5


def _ref_ctc(student_output, teacher_output, flags, ncrops, temp):
    b = flags.shape[0]
    student_out = student_output.reshape(ncrops, b, -1).permute(1, 0, 2)
    teacher_out = teacher_output.reshape(2, b, -1).permute(1, 0, 2)
    logits = torch.matmul(teacher_out, student_out.permute(0, 2, 1))
    logits = torch.exp(logits / temp)
    total_loss = 0
    for i in range(b):
        neg_logits = logits[i, :, flags[i] == 0]
        pos_inds = torch.nonzero(flags[i])[:, 0]
        loss = 0
        for j in pos_inds:
            pos_logit = logits[i, :, j]
            loss += -torch.log((pos_logit) / (pos_logit + neg_logits.sum(dim=1) + 1e-4))
        else:
            loss += -torch.log((1) / (1 + neg_logits.sum(dim=1) + 1e-4))
        total_loss += loss.sum() / 2 / (pos_inds.shape[0] + 1e-4)
    return total_loss / b


def test_ptc_matches_official():
    torch.manual_seed(0)
    tokens = torch.randn(2, 16, 4, 5, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 5))
    label[0, 0, :2] = 255
    mask = label_to_aff_mask(label)
    out = PatchTokenContrastLoss(loss_weight=0.2)(tokens, mask)
    ref = 0.2 * _ref_ptc(tokens, mask)
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
    torch.testing.assert_close(loss(pred, label), _ref_seg(pred, label))
    bg_only = torch.where(label == 255, label, torch.zeros_like(label))
    assert torch.isnan(_ref_seg(pred, bg_only))  # the official mean over no pixels
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
    ref = _ref_ctc(student, teacher, flags, ncrops, temp)
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
