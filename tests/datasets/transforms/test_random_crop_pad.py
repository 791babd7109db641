import numpy as np
import pytest

from projects.acr.datasets.transforms import RandomCropPad, ResizeImageOnly


def _results(h, w):
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    seg = (np.arange(h * w) % 7).astype(np.uint8).reshape(h, w)
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'], img_shape=(h, w))


def test_small_image_sits_at_a_random_offset():
    pad = (1.5, 2.5, 3.5)
    offsets = set()
    for seed in range(40):
        res = RandomCropPad((12, 12), pad_val=pad, seed=seed)(_results(7, 9))
        top, left = res['canvas_offset']
        offsets.add((top, left))
        img, seg = res['img'], res['gt_seg_map']
        assert img.dtype == np.float32 and img.shape == (12, 12, 3)
        src = _results(7, 9)
        np.testing.assert_array_equal(img[top:top + 7, left:left + 9], src['img'])
        np.testing.assert_array_equal(seg[top:top + 7, left:left + 9], src['gt_seg_map'])
        mask = np.ones((12, 12), bool)
        mask[top:top + 7, left:left + 9] = False
        np.testing.assert_array_equal(img[mask], np.tile(pad, (mask.sum(), 1)))
        assert (seg[mask] == 255).all()
    assert len(offsets) > 10  # not always the top-left corner
    assert all(0 <= t <= 5 and 0 <= l <= 3 for t, l in offsets)


def test_each_axis_on_its_own():
    res = RandomCropPad((10, 10), seed=3)(_results(6, 20))
    x1, y1, x2, y2 = res['crop_bbox']
    top, left = res['canvas_offset']
    assert (y1, y2) == (0, 6) and x2 - x1 == 10 and left == 0 and 0 <= top <= 4
    np.testing.assert_array_equal(res['img'][top:top + 6], _results(6, 20)['img'][:, x1:x2])


def test_large_image_is_cropped_without_padding():
    res = RandomCropPad((8, 8), seed=0)(_results(20, 30))
    x1, y1, x2, y2 = res['crop_bbox']
    assert res['canvas_offset'] == (0, 0) and (x2 - x1, y2 - y1) == (8, 8)
    np.testing.assert_array_equal(res['img'], _results(20, 30)['img'][y1:y2, x1:x2])


def test_resize_image_only_keeps_the_mask():
    res = ResizeImageOnly((16, 24))(_results(7, 9))
    assert res['img'].shape == (16, 24, 3) and res['img'].dtype == np.float32
    assert res['gt_seg_map'].shape == (7, 9) and res['img_shape'] == (16, 24)
    flat = dict(img=np.full((5, 5, 3), 100, np.uint8))
    np.testing.assert_allclose(ResizeImageOnly((9, 9))(flat)['img'], 100.0)
    with pytest.raises(ValueError, match='scale'):
        ResizeImageOnly((0, 4))
