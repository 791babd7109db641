import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from projects.acr.evaluation import LabelEvaluator, SegmentationReport

CLASSES = ('background', 'cat', 'dog', 'person')
NUM = len(CLASSES)


def save_png(path, arr, palette=False):
    img = Image.fromarray(arr.astype(np.uint8))
    if palette:
        img = img.convert('P')
        img.putpalette(list(np.random.default_rng(0).integers(0, 256, 768)))
    img.save(path)


def write_case(root, rng, num_images=4):
    os.makedirs(osp.join(root, 'masks'), exist_ok=True)
    os.makedirs(osp.join(root, 'labels'), exist_ok=True)
    items = []
    for i in range(num_images):
        h, w = rng.integers(8, 17), rng.integers(8, 17)
        gt = rng.integers(0, NUM, size=(h, w))
        gt[rng.random((h, w)) < 0.1] = 255
        pred = np.where(rng.random((h, w)) < 0.6, gt, rng.integers(0, NUM, size=(h, w)))
        pred[pred == 255] = 0
        pred[rng.random((h, w)) < 0.15] = 255
        save_png(osp.join(root, 'masks', f'im{i}.png'), gt)
        # Alternate grayscale and palette label files.
        save_png(osp.join(root, 'labels', f'im{i}.png'), pred, palette=bool(i % 2))
        items.append((f'im{i}', osp.join(root, 'masks', f'im{i}.png')))
    return osp.join(root, 'labels'), items


def plain_counts(label_dir, items):
    """Confusion over labelled pixels and per-class unlabelled counts, with loops."""
    conf = np.zeros((NUM, NUM), dtype=np.int64)
    unlabeled = np.zeros(NUM, dtype=np.int64)
    for img_id, gt_path in items:
        gt = np.array(Image.open(gt_path)).astype(int)
        pred = np.array(Image.open(osp.join(label_dir, img_id + '.png'))).astype(int)
        for g in range(NUM):
            unlabeled[g] += np.sum((gt == g) & (pred == 255))
            for p in range(NUM):
                conf[g, p] += np.sum((gt == g) & (pred == p))
    return conf, unlabeled


@pytest.mark.parametrize('seed', range(3))
def test_confusion_equals_plain_count(tmp_path, seed):
    label_dir, items = write_case(str(tmp_path), np.random.default_rng(seed))
    conf, unlabeled = plain_counts(label_dir, items)
    result = LabelEvaluator(CLASSES).evaluate(label_dir, items, progress=False)
    np.testing.assert_array_equal(result.report.confusion, conf)
    tp = np.diag(conf).astype(float)
    np.testing.assert_allclose(result.report.iou, tp / (conf.sum(0) + conf.sum(1) - tp))
    np.testing.assert_allclose(result.report.precision, tp / conf.sum(0))
    np.testing.assert_allclose(result.report.recall, tp / conf.sum(1))
    assert result.miou == pytest.approx(np.mean(tp / (conf.sum(0) + conf.sum(1) - tp)))
    assert result.unlabeled_pixels == unlabeled.sum()
    assert result.coverage == pytest.approx(conf.sum() / (conf.sum() + unlabeled.sum()))

    # Unlabelled pixels as misses lower recall and IoU, never precision.
    miss = LabelEvaluator(CLASSES, pred_ignore='miss').evaluate(label_dir, items, progress=False)
    gt_total = conf.sum(1) + unlabeled
    np.testing.assert_allclose(miss.report.iou, tp / (gt_total + conf.sum(0) - tp))
    np.testing.assert_allclose(miss.report.recall, tp / gt_total)
    np.testing.assert_allclose(miss.report.precision, result.report.precision)


def test_missing_label_file(tmp_path):
    label_dir, items = write_case(str(tmp_path), np.random.default_rng(0))
    os.remove(osp.join(label_dir, 'im1.png'))
    with pytest.raises(FileNotFoundError, match='im1.png'):
        LabelEvaluator(CLASSES).evaluate(label_dir, items, progress=False)
    result = LabelEvaluator(CLASSES, on_missing='skip').evaluate(label_dir, items,
                                                                 progress=False)
    assert result.missing == ['im1'] and result.num_images == 3
    conf, _ = plain_counts(label_dir, [it for it in items if it[0] != 'im1'])
    np.testing.assert_array_equal(result.report.confusion, conf)
    assert result.to_dict()['num_missing'] == 1


def test_bad_labels_name_the_file(tmp_path):
    save_png(tmp_path / 'gt.png', np.zeros((6, 6)))
    os.makedirs(tmp_path / 'labels')
    save_png(tmp_path / 'labels' / 'a.png', np.full((6, 6), 7))
    items = [('a', str(tmp_path / 'gt.png'))]
    with pytest.raises(ValueError, match=r'a\.png.*\[7\]'):
        LabelEvaluator(CLASSES).evaluate(str(tmp_path / 'labels'), items, progress=False)
    save_png(tmp_path / 'labels' / 'a.png', np.zeros((6, 5)))
    with pytest.raises(ValueError, match='do not match'):
        LabelEvaluator(CLASSES).evaluate(str(tmp_path / 'labels'), items, progress=False)
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / 'labels' / 'a.png')
    with pytest.raises(ValueError, match='single-channel or palette'):
        LabelEvaluator(CLASSES).evaluate(str(tmp_path / 'labels'), items, progress=False)


def test_report_table_and_nan_classes():
    conf = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    report = SegmentationReport(conf, ['bg', 'a', 'b'])
    assert np.isnan(report.iou[2])
    assert report.miou == pytest.approx(np.mean([5 / 8, 3 / 6]))
    table = report.to_markdown().splitlines()
    assert table[2] == '| bg | 62.50 | 71.43 | 83.33 |'
    assert table[4] == '| b | - | - | - |'
    assert table[5].startswith('| **mean** | 56.25 |')
    assert report.to_dict()['per_class'][2]['IoU'] is None
    with pytest.raises(ValueError, match='class names'):
        SegmentationReport(conf, ['bg', 'a'])
