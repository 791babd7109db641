import numpy as np
import pytest

from projects.acr.datasets.transforms import PackClsInputs, PairedViews


def test_second_view_is_the_mirror_of_the_first():
    img = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    out = PairedViews(flip=True)(dict(img=img, img_path='a.jpg'))
    assert out['img'].shape == (2, 5, 7, 3)
    np.testing.assert_array_equal(out['img'][0], img)
    np.testing.assert_array_equal(out['img'][1], img[:, ::-1])
    assert out['view_flip'] is True


def test_without_flip_the_views_are_identical():
    img = np.zeros((4, 4, 3), np.uint8)
    out = PairedViews(flip=False)(dict(img=img))
    np.testing.assert_array_equal(out['img'][0], out['img'][1])
    assert out['view_flip'] is False


def test_rejects_an_image_that_is_already_paired():
    with pytest.raises(ValueError, match='x.jpg'):
        PairedViews()(dict(img=np.zeros((2, 4, 4, 3), np.uint8), img_path='x.jpg'))


def test_pack_moves_channels_and_keeps_labels_and_mask():
    img = np.random.default_rng(1).integers(0, 255, (2, 6, 8, 3), dtype=np.uint8)
    mask = np.full((6, 8), 3, np.uint8)
    labels = np.array([0, 0, 1, 0, 0], np.float32)
    packed = PackClsInputs()(dict(img=img, gt_seg_map=mask, img_labels=labels,
                                  view_flip=True, img_shape=(6, 8), ori_shape=(6, 8)))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (2, 3, 6, 8)
    np.testing.assert_array_equal(inputs[1, 2].numpy(), img[1, :, :, 2])
    assert sample.gt_sem_seg.data.shape == (1, 6, 8)
    assert int(sample.gt_sem_seg.data.max()) == 3
    np.testing.assert_array_equal(sample.img_labels, labels)
    assert sample.view_flip is True and sample.img_shape == (6, 8)


def _ramp(h=80, w=120):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 2.0, yy * 3.0, (xx + yy) * 1.0], -1).astype(np.float32)


def test_geometric_pair_records_the_map_between_the_views():
    # Each view point, mapped through view_affine into the other view, shows the same
    # source pixel: on a linear ramp the values agree exactly where no padding is read.
    img = _ramp()
    t = PairedViews(geometric=dict(crop_size=(48, 64), ratio_range=(0.6, 1.5),
                                   pad_val=(-1, -1, -1)), seed=3)
    flips = set()
    for _ in range(6):
        out = t(dict(img=img.copy(), img_path='ramp.png'))
        assert out['img'].shape == (2, 48, 64, 3) and out['img_shape'] == (48, 64)
        assert 'view_flip' not in out
        matrix = out['view_affine']
        assert matrix.shape == (2, 3) and matrix.dtype == np.float32
        flips.add(bool(matrix[0, 0] < 0))
        v1, v2 = out['img']
        ys = (2 * np.arange(48) + 1) / 48 - 1
        xs = (2 * np.arange(64) + 1) / 64 - 1
        gx, gy = np.meshgrid(xs, ys)
        mapped = np.stack([gx, gy, np.ones_like(gx)], -1) @ matrix.T.astype(np.float64)
        # Nearest pixel of view two (the map sends centres near centres).
        col = np.rint(((mapped[..., 0] + 1) * 64 - 1) / 2).astype(int)
        row = np.rint(((mapped[..., 1] + 1) * 48 - 1) / 2).astype(int)
        inside = (col >= 1) & (col < 63) & (row >= 1) & (row < 47) & (v1[..., 0] >= 0)
        if inside.sum() < 50:
            continue
        read = v2[row.clip(0, 47), col.clip(0, 63)]
        ok = inside & (read[..., 0] >= 0)
        # Within the rounding to the nearest pixel: under 1.5 px of ramp slope 3.
        assert np.abs(read - v1)[ok].max() < 2 * 3 * 1.5
    assert flips == {True, False}


def test_geometric_pair_with_colour_jitter_differs_per_view():
    img = np.full((40, 40, 3), 100, np.uint8)
    out = PairedViews(geometric=dict(crop_size=(32, 32), ratio_range=(1.0, 1.0),
                                     flip_prob=0.0),
                      color_jitter=dict(brightness=0.4), seed=0)(dict(img=img))
    assert out['img'].dtype == np.float32
    assert abs(float(out['img'][0].mean()) - float(out['img'][1].mean())) > 1
    # The same scale and no flip: the views differ by a shift only.
    np.testing.assert_allclose(out['view_affine'][:, :2], np.eye(2), atol=1e-6)


def test_geometric_pair_settings_are_checked():
    with pytest.raises(ValueError, match='crop_size'):
        PairedViews(geometric=dict(ratio_range=(0.9, 1.1)))
    with pytest.raises(ValueError, match='ratio_range'):
        PairedViews(geometric=dict(crop_size=(8, 8), ratio_range=(1.2, 1.0)))
    with pytest.raises(ValueError, match='color_jitter'):
        PairedViews(color_jitter=dict(hue=0.1))


def test_mirror_pair_leaves_the_global_random_stream_alone():
    np.random.seed(5)
    expected = np.random.randint(1000)
    np.random.seed(5)
    PairedViews(flip=True)(dict(img=np.zeros((4, 4, 3), np.uint8)))
    assert np.random.randint(1000) == expected


def test_pack_keeps_the_view_map():
    matrix = np.array([[-1, 0, 0.1], [0, 1, 0]], np.float32)
    packed = PackClsInputs()(dict(img=np.zeros((2, 4, 4, 3), np.float32), view_affine=matrix,
                                  img_labels=np.zeros(5, np.float32)))
    np.testing.assert_array_equal(packed['data_samples'].view_affine, matrix)
