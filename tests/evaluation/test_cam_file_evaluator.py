import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

import projects.acr.evaluation.cam_file_evaluator as cam_file_evaluator
from projects.acr.evaluation import CAMFileEvaluator, thresholds_from_range
from projects.acr.pseudo_labels import cam_path, dense_cams, load_cams, save_cams

CLASSES = ('background', 'cat', 'dog', 'person', 'car')
NUM_FG = len(CLASSES) - 1


def write_case(root, rng, num_images=5, quantum=None):
    """Random class-map files and masks; returns (cam_dir, items)."""
    cam_dir = osp.join(root, 'cams')
    items = []
    os.makedirs(osp.join(root, 'masks'), exist_ok=True)
    for i in range(num_images):
        h, w = rng.integers(9, 20), rng.integers(9, 20)
        gt = rng.integers(0, NUM_FG + 1, size=(h, w)).astype(np.uint8)
        gt[rng.random((h, w)) < 0.1] = 255
        gt_path = osp.join(root, 'masks', f'img{i}.png')
        Image.fromarray(gt).save(gt_path)
        class_ids = np.sort(rng.choice(NUM_FG, size=rng.integers(0, 3), replace=False))
        cams = rng.random((class_ids.size, h, w))
        if quantum is not None:
            cams = np.round(cams / quantum) * quantum
        cams[:, rng.random((h, w)) < 0.2] = 0  # all-zero pixels exercise arg-max ties
        save_cams(cam_path(cam_dir, f'img{i}'), cams, class_ids, rng.random(NUM_FG))
        items.append((f'img{i}', gt_path))
    return cam_dir, items


def reference_confusion(cam_dir, items, thresholds):
    """A plain per-threshold evaluation: dense maps, one prediction per threshold."""
    num = NUM_FG + 1
    total = np.zeros((len(thresholds), num, num), dtype=np.int64)
    for img_id, gt_path in items:
        data = load_cams(cam_path(cam_dir, img_id))
        cams = dense_cams(data['cams'], data['class_ids'], NUM_FG)
        gt = np.asarray(Image.open(gt_path)).astype(np.int64)
        valid = gt != 255
        for k, t in enumerate(thresholds):
            pred = np.where(cams.max(0) > np.float32(t), cams.argmax(0) + 1, 0)
            np.add.at(total[k], (gt[valid], pred[valid]), 1)
    return total


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('quantum', [None, 0.25])
def test_one_pass_sweep_equals_per_threshold_evaluation(tmp_path, seed, quantum):
    rng = np.random.default_rng(seed)
    cam_dir, items = write_case(str(tmp_path), rng, quantum=quantum)
    thresholds = [-0.1, 0.0, 0.25, 0.3, 0.5, 0.75, 0.9]
    result = CAMFileEvaluator(CLASSES, thresholds).evaluate(cam_dir, items, progress=False)
    want = reference_confusion(cam_dir, items, thresholds)
    np.testing.assert_array_equal(result.confusion, want)

    tp = np.diagonal(want, axis1=1, axis2=2).astype(float)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = tp / (want.sum(2) + want.sum(1) - tp)
    miou = np.nanmean(iou, axis=1)
    np.testing.assert_allclose(result.miou_curve, miou)
    best = int(np.nanargmax(miou))
    assert result.best_index == best
    assert result.best_threshold == thresholds[best]
    np.testing.assert_allclose(result.report.iou, iou[best])
    with np.errstate(invalid='ignore', divide='ignore'):
        np.testing.assert_allclose(result.report.precision, tp[best] / want[best].sum(0))
        np.testing.assert_allclose(result.report.recall, tp[best] / want[best].sum(1))
    assert result.num_images == len(items) and result.missing == []


def test_each_file_is_read_once(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    cam_dir, items = write_case(str(tmp_path), rng, num_images=4)
    reads = []
    real = cam_file_evaluator.load_cams

    def counting_load(path):
        reads.append(path)
        return real(path)

    monkeypatch.setattr(cam_file_evaluator, 'load_cams', counting_load)
    CAMFileEvaluator(CLASSES, np.arange(20) / 20).evaluate(cam_dir, items, progress=False)
    assert sorted(reads) == sorted(cam_path(cam_dir, i) for i, _ in items)


def test_perfect_maps_score_100(tmp_path):
    gt = np.zeros((12, 16), np.uint8)
    gt[2:6, 3:9] = 2
    gt[7:11, 9:15] = 4
    gt[0, :] = 255
    Image.fromarray(gt).save(tmp_path / 'a.png')
    cams = np.stack([(gt == 2), (gt == 4)]).astype(np.float32)
    save_cams(cam_path(str(tmp_path / 'cams'), 'a'), cams, [1, 3])
    result = CAMFileEvaluator(CLASSES).evaluate(str(tmp_path / 'cams'),
                                                [('a', str(tmp_path / 'a.png'))], progress=False)
    assert result.miou == pytest.approx(1.0)
    assert result.best_threshold == 0.0
    # Classes absent from both are nan and left out of the mean.
    assert np.isnan(result.report.iou[[1, 3]]).all()


def test_missing_file_raises_or_is_skipped(tmp_path):
    rng = np.random.default_rng(1)
    cam_dir, items = write_case(str(tmp_path), rng, num_images=4)
    os.remove(cam_path(cam_dir, 'img2'))
    with pytest.raises(FileNotFoundError, match='img2.npz'):
        CAMFileEvaluator(CLASSES).evaluate(cam_dir, items, progress=False)
    skipped = CAMFileEvaluator(CLASSES, on_missing='skip').evaluate(cam_dir, items,
                                                                    progress=False)
    assert skipped.missing == ['img2'] and skipped.num_images == 3
    rest = CAMFileEvaluator(CLASSES).evaluate(cam_dir, [it for it in items if it[0] != 'img2'],
                                              progress=False)
    np.testing.assert_array_equal(skipped.confusion, rest.confusion)
    summary = skipped.to_dict()
    assert summary['num_missing'] == 1 and summary['missing'] == ['img2']


def test_size_mismatch_names_the_files(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / 'a.png')
    save_cams(cam_path(str(tmp_path / 'cams'), 'a'), np.zeros((1, 8, 9)), [0])
    with pytest.raises(ValueError, match=r'a\.npz.*a\.png'):
        CAMFileEvaluator(CLASSES).evaluate(str(tmp_path / 'cams'),
                                           [('a', str(tmp_path / 'a.png'))], progress=False)


def test_out_of_range_class_ids_are_rejected(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / 'a.png')
    save_cams(cam_path(str(tmp_path / 'cams'), 'a'), np.zeros((1, 8, 8)), [NUM_FG])
    with pytest.raises(ValueError, match='class_ids'):
        CAMFileEvaluator(CLASSES).evaluate(str(tmp_path / 'cams'),
                                           [('a', str(tmp_path / 'a.png'))], progress=False)


def test_curve_plot_and_json_summary(tmp_path):
    rng = np.random.default_rng(2)
    cam_dir, items = write_case(str(tmp_path), rng)
    result = CAMFileEvaluator(CLASSES, thresholds_from_range(10, (0.0, 1.0))).evaluate(
        cam_dir, items, progress=False)
    path = tmp_path / 'out' / 'curve.png'
    result.save_curve(str(path))
    with Image.open(path) as img:
        assert img.format == 'PNG' and img.size[0] > 100
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary['curve']['thresholds'] == pytest.approx(list(np.arange(10) / 10))
    assert summary['mIoU'] == pytest.approx(result.miou * 100)
    # Beside the best of the sweep (chosen on the masks), the figure at 0.5.
    assert summary['fixed_threshold'] == 0.5
    assert summary['fixed_mIoU'] == pytest.approx(result.miou_curve[5] * 100)
    assert [row['Class'] for row in summary['per_class']] == list(CLASSES)
    table = result.report.to_markdown().splitlines()
    assert table[0] == '| Class | IoU | Precision | Recall |'
    assert len(table) == 2 + len(CLASSES) + 1


def test_thresholds_from_range_matches_cam_metric():
    from projects.acr.evaluation import CAMMetric
    for n, rng in ((20, (0.0, 1.0)), (5, (0.2, 0.7))):
        np.testing.assert_array_equal(thresholds_from_range(n, rng),
                                      CAMMetric(num_thresholds=n, threshold_range=rng).thresholds)


@pytest.mark.parametrize('dtype', [np.float16, np.float32])
def test_image_histogram_equals_the_dense_histogram(dtype):
    """Unsorted class ids, negative values and thresholds, absent classes tying at zero."""
    from projects.acr.evaluation import threshold_histogram
    rng = np.random.default_rng(4)
    thresholds = np.array([-0.25, 0.0, 0.1, 0.5])
    evaluator = CAMFileEvaluator(CLASSES, thresholds, fixed_threshold=None)
    total = np.zeros((thresholds.size + 1, NUM_FG + 1, NUM_FG + 1), dtype=np.int64)
    want = np.zeros_like(total)
    for class_ids in ([2, 0], [3], [1, 3, 2], []):
        class_ids = np.array(class_ids, dtype=np.int64)
        cams = (rng.random((class_ids.size, 10, 12)) * 1.5 - 0.5).astype(dtype)
        cams[:, :2] = 0.0  # zero maps tie with the absent classes
        gt = rng.integers(0, NUM_FG + 1, size=(10, 12)).astype(np.uint8)
        gt[rng.random((10, 12)) < 0.1] = 255
        evaluator.accumulate(total, cams, class_ids, gt)
        dense = np.zeros((NUM_FG, 10, 12), dtype=dtype)
        dense[class_ids] = cams
        want += threshold_histogram(dense, gt, thresholds)
    np.testing.assert_array_equal(total, want)


def test_sweep_in_worker_processes_equals_one_process(tmp_path):
    rng = np.random.default_rng(5)
    cam_dir, items = write_case(str(tmp_path), rng, num_images=12)
    evaluator = CAMFileEvaluator(CLASSES)
    one = evaluator.evaluate(cam_dir, items, progress=False, workers=1)
    three = evaluator.evaluate(cam_dir, items, progress=False, workers=3)
    np.testing.assert_array_equal(one.confusion, three.confusion)
    with pytest.raises(ValueError, match='workers'):
        evaluator.evaluate(cam_dir, items, progress=False, workers=0)


def test_sweep_in_workers_names_the_bad_file(tmp_path):
    rng = np.random.default_rng(6)
    cam_dir, items = write_case(str(tmp_path), rng, num_images=6)
    bad = np.full((9, 9), 7, dtype=np.uint8)  # class 7 does not exist
    Image.fromarray(bad).save(items[3][1])
    save_cams(cam_path(cam_dir, items[3][0]), np.zeros((0, 9, 9)), np.zeros(0, np.int64),
              np.zeros(NUM_FG))
    with pytest.raises(ValueError, match=r'img3\.png.*\[7\]'):
        CAMFileEvaluator(CLASSES).evaluate(cam_dir, items, progress=False, workers=2)
