"""The threshold sweep's fast paths against the plain computations they replace."""
import numpy as np
import pytest

from projects.acr.evaluation.threshold_sweep import (_count_below, _max_and_argmax, _pixel_index,
                                                     threshold_histogram)


def plain_histogram(cams, gt, thresholds, ignore_index=255):
    """argmax over classes, searchsorted per pixel, the valid pixels counted."""
    num_classes = cams.shape[0] + 1
    flat = cams.reshape(cams.shape[0], -1)
    best = flat.argmax(axis=0)
    score = np.take_along_axis(flat, best[None], axis=0)[0]
    rank = np.searchsorted(np.asarray(thresholds).astype(flat.dtype), score, side='left')
    gt = gt.reshape(-1).astype(np.int64)
    valid = gt != ignore_index
    index = (rank[valid] * num_classes + gt[valid]) * num_classes + best[valid] + 1
    hist = np.bincount(index, minlength=(len(thresholds) + 1) * num_classes**2)
    return hist.reshape(len(thresholds) + 1, num_classes, num_classes)


@pytest.mark.parametrize('thresholds', [
    np.arange(100) / 100,  # the even grid: arithmetic ranks
    np.union1d(np.arange(60) / 100, [0.5, 0.95]),  # uneven: corrections and search
    np.array([0.0, 1e-4, 0.3, 0.30001, 0.9]),
    np.array([0.25]),
])
@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64])
def test_histogram_equals_plain_computation(thresholds, dtype):
    rng = np.random.default_rng(0)
    cams = rng.random((3, 40, 50))
    cams[:, :5] = np.round(cams[:, :5] * 20) / 20  # scores equal to thresholds: background
    cams[1, 10:15] = cams[2, 10:15]  # ties between classes: the first class wins
    cams[:, 20:22] = 0.0
    cams = cams.astype(dtype)
    gt = rng.integers(0, 4, size=(40, 50)).astype(np.uint8)
    gt[rng.random((40, 50)) < 0.1] = 255
    np.testing.assert_array_equal(
        threshold_histogram(cams, gt, thresholds), plain_histogram(cams, gt, thresholds))


@pytest.mark.parametrize('k', [1, 2, 4])
def test_half_maps_with_negative_values_and_signed_zeros(k):
    rng = np.random.default_rng(1)
    cams = (rng.random((k, 30, 30)) * 2 - 1).astype(np.float16)
    cams[0, :3] = -0.0
    cams[-1, 3:6] = 0.0  # -0 and +0 are equal: the first class wins
    thresholds = np.array([-0.5, -0.0, 0.0, 0.25, 0.5])
    flat = cams.reshape(k, -1)
    stride = 7
    index = _pixel_index(list(flat), thresholds, stride)
    rank = np.searchsorted(thresholds.astype(np.float16), flat.max(axis=0), side='left')
    np.testing.assert_array_equal(index, rank * stride + 1 + flat.argmax(axis=0))


def test_half_maps_with_negative_zeros_only():
    cams = np.array([[-0.0, 0.25, -0.0], [0.0, 0.5, 0.125]], dtype=np.float16)
    thresholds = np.array([0.0, 0.2])
    index = _pixel_index(list(cams), thresholds, stride=3)
    np.testing.assert_array_equal(index, [0 * 3 + 1, 2 * 3 + 2, 1 * 3 + 2])


def test_count_below_equals_searchsorted():
    rng = np.random.default_rng(2)
    for thresholds in (np.arange(100) / 100, np.sort(rng.random(37)), np.array([0.5, 0.5, 0.7])):
        score = np.concatenate([rng.random(1000), thresholds, [-1.0, 2.0, np.inf]])
        for dtype in (np.float32, np.float64):
            t, s = thresholds.astype(dtype), score.astype(dtype)
            np.testing.assert_array_equal(_count_below(t, s), np.searchsorted(t, s, 'left'))


@pytest.mark.parametrize('k', [1, 3, 12])
def test_max_and_argmax_keeps_the_first_maximum(k):
    rng = np.random.default_rng(3)
    flat = np.round(rng.random((k, 500)) * 4) / 4  # many ties
    score, best = _max_and_argmax(list(flat))
    np.testing.assert_array_equal(0 if best is None else best, flat.argmax(axis=0))
    np.testing.assert_array_equal(score, flat.max(axis=0))
