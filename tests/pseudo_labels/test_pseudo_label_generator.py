import numpy as np
import pytest
import torch

from projects.acr.pseudo_labels import PseudoLabelGenerator, make_pseudo_label


def scene(seed=0, size=36):
    """Two blobs (class ids 2 and 7) with soft, noisy maps, and an image that shows them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    blob_a = np.exp(-((yy - 12)**2 + (xx - 11)**2) / 60.0)
    blob_b = np.exp(-((yy - 24)**2 + (xx - 25)**2) / 40.0)
    cams = np.clip(np.stack([blob_a, blob_b]) + rng.uniform(0, 0.05, (2, size, size)), 0, 1)
    image = np.full((size, size, 3), 40, np.uint8)
    image[blob_a > 0.4] = (200, 40, 40)
    image[blob_b > 0.4] = (40, 200, 40)
    return cams.astype(np.float32), np.array([2, 7]), image


def plain_threshold_label(cams, ids, thr):
    return np.where(cams.max(0) > thr, ids[cams.argmax(0)] + 1, 0).astype(np.uint8)


def plain_power_label(cams, ids, alpha):
    bg = (1 - cams.max(0))**alpha
    stack = np.concatenate([bg[None], cams])
    return np.concatenate([[0], ids + 1])[stack.argmax(0)].astype(np.uint8)


@pytest.mark.parametrize('thr', [0.2, 0.45, 0.7])
def test_threshold_mode_equals_numpy_reference(thr):
    cams, ids, _ = scene()
    gen = PseudoLabelGenerator(mode='threshold', bg_thr=thr, crf=False)
    assert not gen.has_ignore_band
    np.testing.assert_array_equal(gen(cams, ids), plain_threshold_label(cams, ids, thr))


def test_two_thresholds_ignore_the_band_between_them():
    cams, ids, _ = scene(1)
    gen = PseudoLabelGenerator(mode='threshold', bg_thr=(0.7, 0.25), crf=False)  # any order
    label = gen(cams, ids)
    confident = plain_threshold_label(cams, ids, 0.7)
    permissive = plain_threshold_label(cams, ids, 0.25)
    ref = np.where(confident == permissive, confident, 255)
    np.testing.assert_array_equal(label, ref)
    band = (cams.max(0) > 0.25) & (cams.max(0) <= 0.7)
    assert band.any()
    assert (label[band] == 255).all()
    assert (label[~band] != 255).all()


def test_power_mode_equals_numpy_reference():
    cams, ids, _ = scene(2)
    label = PseudoLabelGenerator(mode='power', alpha_low=1, alpha_high=12, crf=False)(cams, ids)
    low, high = plain_power_label(cams, ids, 1), plain_power_label(cams, ids, 12)
    np.testing.assert_array_equal(label, np.where(low == high, low, 255))
    # The low alpha is the confident (background-heavy) one.
    assert (low > 0).sum() < (high > 0).sum()


@pytest.mark.parametrize('mode, kwargs', [('power', dict(alpha_low=1, alpha_high=12)),
                                          ('threshold', dict(bg_thr=(0.3, 0.6)))])
def test_disagreement_pixels_are_ignored_with_crf(mode, kwargs):
    cams, ids, _ = scene(3)
    # A textured image, so that the CRF cannot snap both maps to the same edges.
    image = np.random.default_rng(0).integers(0, 256, cams.shape[1:] + (3, ), dtype=np.uint8)
    gen = PseudoLabelGenerator(mode=mode, **kwargs)
    confident, permissive = gen.label_maps(cams, ids, image)
    label = gen(cams, ids, image)
    differ = confident != permissive
    assert differ.any() and (~differ).any()
    assert (label[differ] == 255).all()
    np.testing.assert_array_equal(label[~differ], confident[~differ])
    assert set(np.unique(label)) <= {0, 3, 8, 255}
    assert label.dtype == np.uint8 and label.shape == cams.shape[1:]


def test_single_map_settings_ignore_nothing():
    cams, ids, image = scene(4)
    for gen in (PseudoLabelGenerator(mode='power', alpha_low=4, alpha_high=4),
                PseudoLabelGenerator(mode='threshold', bg_thr=0.4)):
        assert not gen.has_ignore_band
        label = gen(cams, ids, image)
        assert 255 not in label
        assert set(np.unique(label)) <= {0, 3, 8}


def test_dense_maps_and_image_labels():
    cams, ids, image = scene(5)
    dense = np.zeros((10, ) + cams.shape[1:], np.float32)
    dense[ids] = cams
    dense[4] = 0.3  # a class the image-level labels say is absent
    img_labels = np.zeros(10)
    img_labels[ids] = 1
    gen = PseudoLabelGenerator(crf=False)
    expected = gen(cams, ids)
    np.testing.assert_array_equal(gen.from_dense(dense, img_labels=img_labels), expected)
    # Tensors work as well (the training hook has them).
    np.testing.assert_array_equal(
        gen.from_dense(torch.from_numpy(dense), img_labels=torch.from_numpy(img_labels)),
        expected)
    # Without image-level labels, the classes with nonzero maps take part.
    without = gen.from_dense(dense)
    assert (without != expected).any()
    dense[4] = 0
    np.testing.assert_array_equal(gen.from_dense(dense), expected)
    # The function form with the CRF.
    np.testing.assert_array_equal(
        make_pseudo_label(dense, image, img_labels, mode='power', alpha_low=1, alpha_high=12),
        PseudoLabelGenerator()(cams, ids, image))


def test_no_present_class_gives_background():
    gen = PseudoLabelGenerator()
    image = np.zeros((6, 5, 3), np.uint8)
    label = gen(np.zeros((0, 6, 5), np.float32), [], image)
    np.testing.assert_array_equal(label, np.zeros((6, 5), np.uint8))
    np.testing.assert_array_equal(gen.from_dense(np.zeros((20, 6, 5)), image), label)


def test_bad_settings_are_reported():
    with pytest.raises(ValueError, match='needs bg_thr'):
        PseudoLabelGenerator(mode='threshold')
    with pytest.raises(ValueError, match='one or two'):
        PseudoLabelGenerator(mode='threshold', bg_thr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match='must not exceed'):
        PseudoLabelGenerator(alpha_low=12, alpha_high=1)
    with pytest.raises(ValueError, match='unknown pseudo-label mode'):
        PseudoLabelGenerator(mode='otsu')
    with pytest.raises(TypeError, match='crf must be'):
        PseudoLabelGenerator(crf='yes')
    cams, ids, _ = scene()
    with pytest.raises(ValueError, match='needs the image'):
        PseudoLabelGenerator()(cams, ids)
    with pytest.raises(ValueError, match='image labels'):
        PseudoLabelGenerator(crf=False).from_dense(cams, img_labels=np.ones(3))
