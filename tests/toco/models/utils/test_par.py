"""PAR against a reference written as ToCo's model/PAR.py writes it."""
import pytest
import torch
from toco_reference import ref_kernel, ref_neighbours, ref_par

from projects.toco.models.utils import PixelAdaptiveRefiner, dilated_neighbours


def test_neighbours_match_the_dilated_kernel():
    x = torch.randn(2, 3, 9, 11)
    dil = (1, 2, 4, 12)
    assert torch.equal(dilated_neighbours(x, dil), ref_neighbours(x, dil, ref_kernel()))


@pytest.mark.parametrize('size', [(20, 24), (13, 9)])
def test_par_matches_official(size):
    torch.manual_seed(0)
    imgs = torch.rand(2, 3, *size)
    masks = torch.rand(2, 4, size[0] // 2 + 1, size[1] // 2).softmax(1)
    dil = (1, 2, 4, 8, 12, 24)
    par = PixelAdaptiveRefiner(dilations=dil, num_iter=10)
    out = par(imgs, masks)
    ref = ref_par(imgs, masks, dil, 10)
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
