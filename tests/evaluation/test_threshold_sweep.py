import numpy as np
import pytest
import torch

from projects.acr.evaluation.threshold_sweep import (check_thresholds, confusion_from_histogram,
                                                     iou_from_confusion, miou_from_confusion,
                                                     nanmean_last, precision_from_confusion,
                                                     recall_from_confusion, sweep_confusion,
                                                     threshold_histogram)


def reference_confusion(cams, gt, thresholds, ignore_index=255):
    """Plain per-threshold loop: materialise each prediction and count pairs."""
    cams = np.asarray(cams)
    gt = np.asarray(gt).astype(np.int64)
    num_classes = cams.shape[0] + 1
    score = cams.max(axis=0)
    label = cams.argmax(axis=0) + 1
    valid = gt != ignore_index
    out = []
    for t in thresholds:
        # Same comparison dtype as the implementation documents.
        pred = np.where(score > np.asarray(t).astype(score.dtype), label, 0)
        conf = np.zeros((num_classes, num_classes), dtype=np.int64)
        np.add.at(conf, (gt[valid], pred[valid]), 1)
        out.append(conf)
    return np.stack(out)


def random_case(rng, num_fg=5, h=23, w=31, quantum=None, dtype=np.float32, ignore_frac=0.15):
    cams = rng.random((num_fg, h, w))
    if quantum is not None:
        # Scores on the threshold grid exercise the "equal is background" rule.
        cams = np.round(cams / quantum) * quantum
    cams = cams.astype(dtype)
    absent = rng.random(num_fg) < 0.4
    cams[absent] = 0
    gt = rng.integers(0, num_fg + 1, size=(h, w)).astype(np.uint8)
    gt[rng.random((h, w)) < ignore_frac] = 255
    return cams, gt


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_sweep_matches_reference_on_grid_scores(seed, dtype):
    rng = np.random.default_rng(seed)
    cams, gt = random_case(rng, quantum=0.05, dtype=dtype)
    thresholds = np.arange(20) / 20
    got = sweep_confusion(cams, gt, thresholds)
    want = reference_confusion(cams, gt, thresholds)
    assert got.dtype == np.int64
    assert got.shape == (20, 6, 6)
    np.testing.assert_array_equal(got, want)
    # Every threshold sees every valid pixel exactly once.
    np.testing.assert_array_equal(got.sum(axis=(1, 2)), np.full(20, (gt != 255).sum()))


@pytest.mark.parametrize('seed', range(4))
def test_sweep_matches_reference_with_edge_thresholds(seed):
    rng = np.random.default_rng(100 + seed)
    cams, gt = random_case(rng, num_fg=3, quantum=0.25)
    # Below every score, duplicates, exactly on scores, and above every score.
    thresholds = np.array([-0.5, 0.0, 0.0, 0.25, 0.3, 0.5, 0.5, 0.75, 1.0, 2.0])
    got = sweep_confusion(cams, gt, thresholds)
    np.testing.assert_array_equal(got, reference_confusion(cams, gt, thresholds))
    # Above every score, every valid pixel is background.
    assert got[-1][:, 1:].sum() == 0
    assert got[-2][:, 1:].sum() == 0  # scores equal to 1.0 are not strictly greater


def test_score_equal_to_threshold_is_background():
    cams = np.zeros((2, 1, 3), dtype=np.float32)
    cams[0, 0] = [0.5, 0.3, 0.0]
    cams[1, 0] = [0.2, 0.3000001, 0.0]
    gt = np.array([[1, 2, 0]], dtype=np.uint8)
    conf = sweep_confusion(cams, gt, [0.0, 0.3, 0.5])
    # t = 0.0: pixel 2 (all zero) is background, the others foreground.
    np.testing.assert_array_equal(conf[0], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    # t = 0.3: 0.3000001 > 0.3 stays foreground.
    np.testing.assert_array_equal(conf[1], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    # t = 0.5: 0.5 is not greater than 0.5.
    np.testing.assert_array_equal(conf[2], [[1, 0, 0], [1, 0, 0], [1, 0, 0]])


def test_sweep_random_continuous_scores_and_ties_between_classes():
    rng = np.random.default_rng(7)
    cams, gt = random_case(rng, num_fg=20, h=40, w=37)
    cams[3] = cams[4]  # argmax ties resolve to the first class in both implementations
    thresholds = rng.random(13)
    thresholds.sort()
    np.testing.assert_array_equal(
        sweep_confusion(cams, gt, thresholds), reference_confusion(cams, gt, thresholds))


def test_sweep_accepts_torch_tensors():
    rng = np.random.default_rng(3)
    cams, gt = random_case(rng, quantum=0.1)
    thresholds = np.arange(10) / 10
    want = sweep_confusion(cams, gt, thresholds)
    got = sweep_confusion(torch.from_numpy(cams), torch.from_numpy(gt), torch.tensor(thresholds))
    np.testing.assert_array_equal(got, want)
    # bfloat16 has no numpy dtype; it is widened first.
    got_bf16 = sweep_confusion(torch.from_numpy(cams).bfloat16(), torch.from_numpy(gt), [0.5])
    want_bf16 = reference_confusion(
        torch.from_numpy(cams).bfloat16().float().numpy(), gt, [0.5])
    np.testing.assert_array_equal(got_bf16, want_bf16)


def test_all_ignored_and_custom_ignore_index():
    cams = np.full((2, 4, 4), 0.9, dtype=np.float32)
    gt = np.full((4, 4), 255, dtype=np.uint8)
    assert sweep_confusion(cams, gt, [0.1, 0.5]).sum() == 0
    gt = np.zeros((4, 4), dtype=np.int64)
    gt[0] = -1
    conf = sweep_confusion(cams, gt, [0.1, 0.95], ignore_index=-1)
    np.testing.assert_array_equal(conf[:, 0].sum(axis=-1), [12, 12])
    assert conf[0, 0, 1] == 12 and conf[1, 0, 0] == 12


def test_no_foreground_classes():
    cams = np.zeros((0, 3, 3), dtype=np.float32)
    gt = np.zeros((3, 3), dtype=np.uint8)
    gt[0, 0] = 255
    conf = sweep_confusion(cams, gt, [0.0, 0.5])
    np.testing.assert_array_equal(conf, np.full((2, 1, 1), 8))


def test_histogram_adds_across_images():
    rng = np.random.default_rng(11)
    thresholds = np.arange(20) / 20
    hists, confs = [], []
    for _ in range(3):
        cams, gt = random_case(rng, quantum=0.05)
        hists.append(threshold_histogram(cams, gt, thresholds))
        confs.append(sweep_confusion(cams, gt, thresholds))
    assert hists[0].shape == (21, 6, 6)
    assert hists[0][..., 0].sum() == 0
    np.testing.assert_array_equal(confusion_from_histogram(sum(hists)), sum(confs))


def test_input_validation():
    cams = np.zeros((2, 3, 3), dtype=np.float32)
    gt = np.zeros((3, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match='ascending'):
        sweep_confusion(cams, gt, [0.5, 0.1])
    with pytest.raises(ValueError, match='non-empty'):
        sweep_confusion(cams, gt, [])
    with pytest.raises(ValueError, match='finite'):
        sweep_confusion(cams, gt, [0.1, np.nan])
    with pytest.raises(ValueError, match='does not match'):
        sweep_confusion(cams, np.zeros((3, 4), dtype=np.uint8), [0.1])
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        sweep_confusion(cams[0], gt, [0.1])
    bad = gt.copy()
    bad[0, 0] = 3
    with pytest.raises(ValueError, match=r'\[3\]'):
        sweep_confusion(cams, bad, [0.1])
    np.testing.assert_array_equal(check_thresholds([0, 0.5, 0.5]), [0.0, 0.5, 0.5])


def test_iou_precision_recall_by_hand():
    # rows: gt, columns: prediction
    conf = np.array([[3, 1, 0],
                     [2, 4, 0],
                     [0, 0, 0]])
    np.testing.assert_allclose(iou_from_confusion(conf)[:2], [3 / 6, 4 / 7])
    np.testing.assert_allclose(precision_from_confusion(conf)[:2], [3 / 5, 4 / 5])
    np.testing.assert_allclose(recall_from_confusion(conf)[:2], [3 / 4, 4 / 6])
    # Class 2 has neither gt nor prediction: nan, and left out of the mean.
    assert np.isnan(iou_from_confusion(conf)[2])
    assert np.isnan(precision_from_confusion(conf)[2])
    assert np.isnan(recall_from_confusion(conf)[2])
    np.testing.assert_allclose(miou_from_confusion(conf), (3 / 6 + 4 / 7) / 2)

    # A class predicted but absent from the gt counts with IoU 0 and recall nan.
    conf2 = np.array([[2, 0, 1],
                      [0, 1, 0],
                      [0, 0, 0]])
    np.testing.assert_allclose(iou_from_confusion(conf2), [2 / 3, 1.0, 0.0])
    np.testing.assert_allclose(precision_from_confusion(conf2), [1.0, 1.0, 0.0])
    r = recall_from_confusion(conf2)
    np.testing.assert_allclose(r[:2], [2 / 3, 1.0])
    assert np.isnan(r[2])
    np.testing.assert_allclose(miou_from_confusion(conf2), (2 / 3 + 1.0) / 3)


def test_metrics_vectorise_over_leading_dims():
    rng = np.random.default_rng(5)
    conf = rng.integers(0, 5, size=(2, 3, 4, 4))
    conf[0, 1, 2, :] = 0
    conf[0, 1, :, 2] = 0
    for fn in (iou_from_confusion, precision_from_confusion, recall_from_confusion):
        batched = fn(conf)
        assert batched.shape == (2, 3, 4)
        for i in range(2):
            for j in range(3):
                np.testing.assert_array_equal(batched[i, j], fn(conf[i, j]))
    assert miou_from_confusion(conf).shape == (2, 3)


def test_nanmean_all_nan_is_quiet(recwarn):
    out = nanmean_last(np.array([[np.nan, np.nan], [1.0, np.nan]]))
    assert np.isnan(out[0]) and out[1] == 1.0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
