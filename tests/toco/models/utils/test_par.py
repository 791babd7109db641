"""PAR against a reference written as ToCo's model/PAR.py writes it."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from projects.toco.models.utils import PixelAdaptiveRefiner, dilated_neighbours


def _ref_kernel():
    weight = torch.zeros(8, 1, 3, 3)
    for i, (r, c) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),
                                (2, 2)]):
        weight[i, 0, r, c] = 1
    return weight


def _ref_neighbours(x, dilations, kernel):
    b, c, h, w = x.shape
    out = []
    for d in dilations:
        pad = F.pad(x, [d] * 4, mode='replicate', value=0)
        pad = pad.reshape(b * c, -1, pad.shape[-2], pad.shape[-1])
        out.append(F.conv2d(pad, kernel, dilation=d).view(b, c, -1, h, w))
    return torch.cat(out, dim=2)


def _ref_par(imgs, masks, dilations, num_iter):
    kernel = _ref_kernel()
    ker = torch.ones(1, 1, 8, 1, 1)
    for i in (0, 2, 5, 7):
        ker[0, 0, i, 0, 0] = np.sqrt(2)
    pos = torch.cat([ker * d for d in dilations], dim=2)
    masks = F.interpolate(masks, size=imgs.size()[-2:], mode='bilinear', align_corners=True)
    b, c, h, w = imgs.shape
    _imgs = _ref_neighbours(imgs, dilations, kernel)
    _imgs_rep = imgs.unsqueeze(2).repeat(1, 1, _imgs.shape[2], 1, 1)
    _pos_rep = pos.repeat(b, 1, 1, h, w)
    _imgs_abs = torch.abs(_imgs - _imgs_rep)
    _imgs_std = torch.std(_imgs, dim=2, keepdim=True)
    _pos_std = torch.std(_pos_rep, dim=2, keepdim=True)
    aff = -(_imgs_abs / (_imgs_std + 1e-8) / 0.3)**2
    aff = aff.mean(dim=1, keepdim=True)
    pos_aff = -(_pos_rep / (_pos_std + 1e-8) / 0.3)**2
    aff = F.softmax(aff, dim=2) + 0.01 * F.softmax(pos_aff, dim=2)
    for _ in range(num_iter):
        _masks = _ref_neighbours(masks, dilations, kernel)
        masks = (_masks * aff).sum(2)
    return masks


def test_neighbours_match_the_dilated_kernel():
    x = torch.randn(2, 3, 9, 11)
    dil = (1, 2, 4, 12)
    assert torch.equal(dilated_neighbours(x, dil), _ref_neighbours(x, dil, _ref_kernel()))


@pytest.mark.parametrize('size', [(20, 24), (13, 9)])
def test_par_matches_official(size):
    torch.manual_seed(0)
    imgs = torch.rand(2, 3, *size)
    masks = torch.rand(2, 4, size[0] // 2 + 1, size[1] // 2).softmax(1)
    dil = (1, 2, 4, 8, 12, 24)
    par = PixelAdaptiveRefiner(dilations=dil, num_iter=10)
    out = par(imgs, masks)
    ref = _ref_par(imgs, masks, dil, 10)
    assert out.shape == (2, 4) + size
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_par_preserves_zero_channels_and_rejects_bad_dilations():
    imgs = torch.rand(1, 3, 10, 10)
    masks = torch.rand(1, 3, 10, 10)
    masks[:, 1] = 0
    out = PixelAdaptiveRefiner()(imgs, masks)
    assert torch.all(out[:, 1] == 0) and torch.all(out[:, 0] > 0)
    with pytest.raises(ValueError, match='dilations'):
        PixelAdaptiveRefiner(dilations=(0, 1))
