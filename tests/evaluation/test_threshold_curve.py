import os.path as osp

import numpy as np
import pytest

from projects.acr.evaluation import ThresholdCurve


def reference(hist):
    """The chain written out plainly: a loop over thresholds and over classes."""
    num_t = hist.shape[0] - 1
    num = hist.shape[1]
    conf = np.zeros((num_t, num, num), np.int64)
    for i in range(num_t):
        # Ranks above i are foreground (their own label); the rest go to background.
        conf[i] = hist[i + 1:].sum(0)
        conf[i][:, 0] = hist[:i + 1].sum((0, 2))
    iou = np.full((num_t, num), np.nan)
    for i in range(num_t):
        for c in range(num):
            tp = conf[i, c, c]
            union = conf[i, c, :].sum() + conf[i, :, c].sum() - tp
            if union:
                iou[i, c] = tp / union
    miou = np.array([np.mean(r[~np.isnan(r)]) if (~np.isnan(r)).any() else np.nan for r in iou])
    best = 0 if np.all(np.isnan(miou)) else int(np.nanargmax(miou))
    return conf, iou, miou, best


def made_histogram(rng, num_t=6, num=4):
    hist = rng.integers(0, 50, size=(num_t + 1, num, num)).astype(np.int64)
    hist[..., 0] = 0  # column 0 (background label) is empty when there are classes
    hist[:, 3] = 0  # class 3 never in the ground truth
    return hist


@pytest.mark.parametrize('seed', range(4))
def test_curve_best_threshold_and_classes_equal_a_plain_reference(seed):
    rng = np.random.default_rng(seed)
    hist = made_histogram(rng)
    thresholds = np.array([0.0, 0.1, 0.2, 0.35, 0.5, 0.6])
    curve = ThresholdCurve.from_histogram(thresholds, hist, ['bg', 'a', 'b', 'c'])
    conf, iou, miou, best = reference(hist)
    np.testing.assert_array_equal(curve.confusion, conf)
    np.testing.assert_allclose(curve.miou_curve, miou)
    assert curve.best_index == best
    assert curve.best_threshold == thresholds[best]
    assert curve.miou == pytest.approx(miou[best])
    np.testing.assert_allclose(curve.report.iou, iou[best])
    tp = np.diagonal(conf[best]).astype(float)
    with np.errstate(invalid='ignore', divide='ignore'):
        np.testing.assert_allclose(curve.report.precision, tp / conf[best].sum(0))
        np.testing.assert_allclose(curve.report.recall, tp / conf[best].sum(1))
    assert curve.miou_at(0.35) == pytest.approx(miou[3])
    assert curve.class_names == ['bg', 'a', 'b', 'c']


def test_ties_go_to_the_lowest_threshold_and_empty_curves_to_the_first():
    # Every pixel is scored above all thresholds: the masks, hence the mIoU, are equal.
    hist = np.zeros((4, 2, 2), np.int64)
    hist[3, 1, 1] = 5
    hist[3, 0, 1] = 2
    curve = ThresholdCurve.from_histogram([0.1, 0.2, 0.3], hist)
    assert curve.best_index == 0
    np.testing.assert_allclose(curve.miou_curve, [(0 + 5 / 7) / 2] * 3)
    empty = ThresholdCurve.from_histogram([0.1, 0.2, 0.3], np.zeros((4, 2, 2), np.int64))
    assert empty.best_index == 0 and np.isnan(empty.miou)
    assert empty.class_names == ['background', 'class_1']


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='3 thresholds'):
        ThresholdCurve([0.1, 0.2, 0.3], np.zeros((2, 2, 2), np.int64))
    with pytest.raises(ValueError, match='not in the sweep'):
        ThresholdCurve([0.1, 0.2], np.zeros((2, 2, 2), np.int64)).miou_at(0.5)


def test_plot_is_written(tmp_path):
    hist = made_histogram(np.random.default_rng(0))
    path = osp.join(str(tmp_path), 'curve.png')
    ThresholdCurve.from_histogram(np.linspace(0, 0.5, 6), hist).save_plot(path, title='t')
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
