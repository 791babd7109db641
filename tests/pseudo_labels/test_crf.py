import sys

import numpy as np
import pytest

from projects.acr.pseudo_labels import DenseCRF, background_stack, labels_from_stack


def square_scene(noise=0.25, seed=0, size=40):
    """A red square on a dark background, with noisy maps of the square's class (id 3).

    Returns:
        image (size, size, 3) uint8, truth (size, size) uint8 (0 / 4), cams (1, size, size).
    """
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), 30, np.uint8)
    inside = np.zeros((size, size), bool)
    inside[10:30, 8:28] = True
    image[inside] = (220, 60, 60)
    truth = np.where(inside, 4, 0).astype(np.uint8)
    cams = np.clip(0.7 * inside + rng.normal(0, noise, inside.shape), 0, 1)[None]
    return image, truth, cams.astype(np.float32)


def test_output_is_a_label_map_of_the_present_classes():
    rng = np.random.default_rng(1)
    cams = rng.uniform(0, 1, (3, 24, 32)).astype(np.float32)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    ids = [4, 11, 19]
    label = DenseCRF().labels(background_stack(cams, 'power', alpha=2), image, ids)
    assert label.shape == (24, 32) and label.dtype == np.uint8
    assert set(np.unique(label)) <= {0, 5, 12, 20}


def test_posterior_is_a_distribution():
    rng = np.random.default_rng(2)
    scores = rng.uniform(0, 1, (4, 10, 12)).astype(np.float32)
    image = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    q = DenseCRF(n_iters=3)(scores, image)
    assert q.shape == (4, 10, 12) and q.dtype == np.float32
    np.testing.assert_allclose(q.sum(0), 1, atol=1e-4)
    assert (q >= 0).all()
    # One label: nothing to infer.
    np.testing.assert_array_equal(DenseCRF()(scores[:1], image), 1)


def test_confident_unary_keeps_the_labels():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, (30, 30))
    # Blocky labels on an unrelated random image: only the unary supports them.
    truth = np.kron(truth[::6, ::6], np.ones((6, 6), int))[:30, :30]
    probs = np.where(np.arange(3)[:, None, None] == truth[None], 0.98, 0.01).astype(np.float32)
    image = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    label = DenseCRF().labels(probs, image, [0, 1])
    assert (label == truth).mean() > 0.97


def test_crf_beats_argmax_on_a_clear_case():
    image, truth, cams = square_scene()
    stack = background_stack(cams, 'threshold', bg_thr=0.4)
    plain = labels_from_stack(stack, [3])
    refined = DenseCRF().labels(stack, image, [3])
    plain_acc, crf_acc = (plain == truth).mean(), (refined == truth).mean()
    assert plain_acc < 0.95  # the noise really hurts the argmax
    assert crf_acc > 0.99
    assert crf_acc > plain_acc


def test_channel_order_does_not_matter():
    image, _, cams = square_scene(seed=4)
    stack = background_stack(cams, 'power', alpha=3)
    crf = DenseCRF(n_iters=5)
    np.testing.assert_array_equal(crf.labels(stack, image, [3]),
                                  crf.labels(stack, image[..., ::-1], [3]))


def test_read_only_and_strided_images_are_accepted():
    image, _, cams = square_scene(seed=5)
    stack = background_stack(cams, 'power', alpha=3)
    ref = DenseCRF().labels(stack, image, [3])
    frozen = image.copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(DenseCRF().labels(stack, frozen, [3]), ref)
    padded = np.zeros((40, 40, 4), np.uint8)
    padded[..., :3] = image
    np.testing.assert_array_equal(DenseCRF().labels(stack, padded[..., :3], [3]), ref)


def test_bad_inputs_are_reported():
    crf = DenseCRF()
    scores = np.ones((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match='does not match'):
        crf(scores, np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        crf(scores, np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match='0-255'):
        crf(scores, np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r'\(N, H, W\)'):
        crf(np.ones((8, 8)), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='n_iters'):
        DenseCRF(n_iters=0)
    with pytest.raises(ValueError, match='bilateral_srgb'):
        DenseCRF(bilateral_srgb=0)


def test_missing_pydensecrf_says_how_to_install(monkeypatch):
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, 'pydensecrf.densecrf', None)
    with pytest.raises(ImportError, match='pip install pydensecrf2'):
        DenseCRF()
