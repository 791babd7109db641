"""Local crops against ToCo's crop_from_roi_neg on the same random stream."""
import pytest
import torch
from toco_reference import ref_crop_from_roi_neg

from projects.toco.models.utils import crops_from_roi


def test_crops_and_flags_match_official():
    torch.manual_seed(0)
    images = torch.randn(3, 3, 40, 36)
    roi = torch.randint(0, 3, (3, 40, 36))
    roi[1] = 2  # no background or uncertain pixel: ToCo falls back to any pixel
    roi[2, :, :18] = 0  # negatives on the left
    torch.manual_seed(7)
    crops, flags = crops_from_roi(images, roi, num_crops=8, crop_size=16)
    torch.manual_seed(7)
    ref_crops, ref_flags = ref_crop_from_roi_neg(images, roi, crop_num=8, crop_size=16)
    assert torch.equal(crops, torch.cat(ref_crops))
    assert torch.equal(flags, ref_flags)
    assert flags.shape == (3, 10) and (flags[:, :2] == 1).all() and (flags == 0).any()


def test_images_too_small_for_the_crops_are_an_error():
    with pytest.raises(ValueError, match='local crops of 96 px'):
        crops_from_roi(torch.zeros(1, 3, 96, 96), torch.zeros(1, 96, 96, dtype=torch.long))
