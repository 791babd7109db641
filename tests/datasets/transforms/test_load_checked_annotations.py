# Copyright (c) ACR-WSSS contributors. All rights reserved.
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from projects.acr.datasets import voc_palette


def write_pair(tmp_path, img_hw, mask_hw, palette=False):
    rng = np.random.default_rng(0)
    img_path = tmp_path / 'img.png'
    mask_path = tmp_path / 'mask.png'
    Image.fromarray(rng.integers(0, 256, img_hw + (3, ), dtype=np.uint8)).save(img_path)
    mask = rng.choice(np.array([0, 1, 7, 255], np.uint8), mask_hw)
    mask_img = Image.fromarray(mask, mode='P' if palette else 'L')
    if palette:
        mask_img.putpalette(np.asarray(voc_palette(), np.uint8).ravel().tolist())
    mask_img.save(mask_path)
    return str(img_path), str(mask_path), mask


def results_of(img_path, mask_path):
    return dict(img_path=img_path, seg_map_path=mask_path, reduce_zero_label=False,
                seg_fields=[])


def pipeline():
    return Compose([dict(type='LoadCheckedImageFromFile'), dict(type='LoadCheckedAnnotations')])


@pytest.mark.parametrize('palette', [False, True])
def test_loads_like_mmseg(tmp_path, palette):
    img_path, mask_path, mask = write_pair(tmp_path, (30, 40), (30, 40), palette=palette)
    out = pipeline()(results_of(img_path, mask_path))
    np.testing.assert_array_equal(out['gt_seg_map'], mask)
    assert out['gt_seg_map'].dtype == np.uint8
    assert out['seg_fields'] == ['gt_seg_map']
    reference = LoadAnnotations()(results_of(img_path, mask_path))
    np.testing.assert_array_equal(out['gt_seg_map'], reference['gt_seg_map'])


def test_mask_size_mismatch_names_both_files(tmp_path):
    img_path, mask_path, _ = write_pair(tmp_path, (30, 40), (40, 30))
    with pytest.raises(ValueError) as info:
        pipeline()(results_of(img_path, mask_path))
    message = str(info.value)
    assert 'mask size 40x30' in message and 'image size 30x40' in message
    assert mask_path in message and img_path in message


def test_missing_mask_names_it(tmp_path):
    img_path, _, _ = write_pair(tmp_path, (30, 40), (30, 40))
    missing = str(tmp_path / 'masks' / 'img.png')
    with pytest.raises(FileNotFoundError, match='segmentation mask not found') as info:
        pipeline()(results_of(img_path, missing))
    assert missing in str(info.value) and img_path in str(info.value)


def test_colour_and_corrupt_masks_are_rejected(tmp_path):
    img_path, mask_path, _ = write_pair(tmp_path, (30, 40), (30, 40))
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(mask_path)
    with pytest.raises(ValueError, match='single-channel'):
        pipeline()(results_of(img_path, mask_path))
    with open(mask_path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n broken')
    with pytest.raises(OSError, match='cannot decode segmentation mask'):
        pipeline()(results_of(img_path, mask_path))
