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
