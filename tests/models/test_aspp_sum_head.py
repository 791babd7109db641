import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from projects.acr.models import ASPPSumHead


def _head(in_channels=8, num_classes=5, dilations=(1, 2, 3), **kwargs):
    torch.manual_seed(0)
    head = MODELS.build(dict(type='ASPPSumHead', in_channels=in_channels,
                             num_classes=num_classes, dilations=dilations, **kwargs))
    head.init_weights()
    return head


def test_forward_is_sum_of_dilated_branch_convolutions():
    head = _head(in_index=1).eval()
    feats = (torch.randn(2, 4, 9, 11), torch.randn(2, 8, 9, 11))
    reference = torch.zeros(2, 5, 9, 11)
    for d, branch in zip((1, 2, 3), head.aspp_branches):
        reference += F.conv2d(feats[1], branch.weight, branch.bias, padding=d, dilation=d)
    out = head(feats)
    assert out.shape == (2, 5, 9, 11)
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-6)


def test_impulse_response_has_the_taps_of_every_dilation():
    dilations = (2, 3, 5)
    head = _head(in_channels=1, num_classes=3, dilations=dilations).eval()
    with torch.no_grad():
        for branch in head.aspp_branches:
            branch.weight.fill_(1.0)
            branch.bias.zero_()
    size, c = 15, 7
    x = torch.zeros(1, 1, size, size)
    x[0, 0, c, c] = 1.0
    with torch.no_grad():
        out = head((x, ))[0].numpy()

    # A 3x3 kernel with dilation d puts the impulse at the 9 points c + {-d, 0, d}^2.
    expected = np.zeros((size, size))
    for d in dilations:
        offsets = np.array([-d, 0, d])
        expected[np.ix_(c + offsets, c + offsets)] += 1
    for k in range(3):
        np.testing.assert_allclose(out[k], expected, atol=1e-6)
    assert expected[c, c] == len(dilations)


def test_init_is_normal_001_with_zero_bias():
    head = _head(in_channels=256, num_classes=21, dilations=(6, 12, 18, 24))
    weights = torch.cat([b.weight.flatten() for b in head.aspp_branches])
    assert abs(weights.std().item() - 0.01) < 5e-4
    for branch in head.aspp_branches:
        assert torch.all(branch.bias == 0)
        assert branch.dilation == branch.padding


def _samples(num=2, size=24):
    samples = []
    for _ in range(num):
        label = torch.randint(0, 5, (1, size, size))
        label[:, :4] = 255
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=label)))
    return samples


def test_loss_reaches_every_parameter():
    head = _head(dropout_ratio=0.1).train()
    losses = head.loss((torch.randn(2, 8, 6, 6), ), _samples(), train_cfg={})
    losses['loss_ce'].backward()
    assert not hasattr(head, 'conv_seg')
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_loss_is_cross_entropy_over_labelled_pixels():
    head = _head(loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True))
    feats = (torch.randn(2, 8, 6, 6), )
    samples = _samples()
    loss = head.loss(feats, samples, train_cfg={})['loss_ce']
    logits = F.interpolate(head(feats), size=(24, 24), mode='bilinear', align_corners=False)
    labels = torch.cat([s.gt_sem_seg.data for s in samples])
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels, ignore_index=255))


def test_predict_upsamples_to_the_input_size():
    head = _head().eval()
    logits = head.predict((torch.randn(1, 8, 6, 6), ), [dict(img_shape=(48, 48))],
                          test_cfg={})
    assert logits.shape == (1, 5, 48, 48)


@pytest.mark.parametrize('kwargs, match', [
    (dict(channels=16), 'channels'),
    (dict(dilations=()), 'dilations'),
    (dict(dilations=(0, 6)), 'dilations'),
    (dict(in_channels=[8, 8]), 'in_channels'),
])
def test_bad_arguments_are_rejected(kwargs, match):
    args = dict(in_channels=8, num_classes=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ASPPSumHead(**args)
