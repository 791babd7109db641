import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from projects.acr.evaluation import CAMMetric, miou_from_confusion, sweep_confusion

CLASSES = ('background', 'cat', 'dog', 'person')


def make_sample(cams, gt, img_path='img.jpg'):
    sample = SegDataSample(metainfo=dict(img_path=img_path, ori_shape=tuple(gt.shape)))
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    sample.pred_cams = torch.as_tensor(cams)
    return sample


def one_hot_cams(gt, num_fg):
    gt = np.asarray(gt)
    cams = np.stack([(gt == c) for c in range(1, num_fg + 1)]).astype(np.float32)
    return cams


def toy_gt(rng, h=16, w=20):
    gt = np.zeros((h, w), dtype=np.uint8)
    gt[2:9, 3:10] = 1
    gt[10:15, 12:19] = 3
    gt[rng.random((h, w)) < 0.05] = 255
    return gt


def test_registered_in_mmseg():
    assert METRICS.get('CAMMetric') is CAMMetric
    metric = METRICS.build(dict(type='CAMMetric', num_thresholds=4, threshold_range=(0.0, 1.0),
                                fixed_threshold=None))
    np.testing.assert_array_equal(metric.thresholds, [0.0, 0.25, 0.5, 0.75])
    assert metric.prefix == 'cam'


def test_default_thresholds_are_clean():
    metric = CAMMetric()  # the official sweep 0.00, 0.01, ..., 0.59 (0.5 is in it)
    assert metric.thresholds.shape == (60,)
    assert metric.thresholds[7] == 0.07 and metric.thresholds[29] == 0.29
    np.testing.assert_array_equal(metric.thresholds, np.arange(60) / 100)
    # The fixed threshold joins the sweep when it is not part of it.
    np.testing.assert_array_equal(CAMMetric(num_thresholds=3, fixed_threshold=0.25).thresholds,
                                  [0.0, 0.2, 0.25, 0.4])
    np.testing.assert_allclose(
        CAMMetric(num_thresholds=5, threshold_range=(0.2, 0.7)).thresholds,
        [0.2, 0.3, 0.4, 0.5, 0.6])
    # Explicit thresholds are sorted.
    np.testing.assert_array_equal(CAMMetric(thresholds=[0.5, 0.1, 0.3]).thresholds,
                                  [0.1, 0.3, 0.5])
    with pytest.raises(ValueError):
        CAMMetric(num_thresholds=0)
    with pytest.raises(ValueError):
        CAMMetric(threshold_range=(0.5, 0.5))


def test_perfect_cams_give_100(tmp_path):
    rng = np.random.default_rng(0)
    curve_path = tmp_path / 'curves' / 'miou.png'
    metric = CAMMetric(class_names=CLASSES, save_curve=str(curve_path))
    samples = []
    for i in range(3):
        gt = toy_gt(rng)
        samples.append(make_sample(one_hot_cams(gt, 3), gt, f'img_{i}.jpg'))
    metric.process({}, samples)
    res = metric.evaluate(size=3)
    assert res['cam/mIoU'] == pytest.approx(100.0)
    assert res['cam/precision'] == pytest.approx(100.0)
    assert res['cam/recall'] == pytest.approx(100.0)
    # Every threshold below 1 is perfect: ties go to the first one.
    assert res['cam/best_threshold'] == 0.0
    assert set(res) == {'cam/mIoU', 'cam/best_threshold', 'cam/precision', 'cam/recall',
                        'cam/fixed_mIoU', 'cam/fixed_threshold'}
    assert res['cam/fixed_threshold'] == 0.5 and res['cam/fixed_mIoU'] == pytest.approx(100.0)
    assert curve_path.is_file() and curve_path.stat().st_size > 0

    table = metric.last_table
    assert table['Class'] == list(CLASSES)
    # 'dog' never occurs: nan, excluded from the means.
    np.testing.assert_allclose(table['IoU'], [100.0, 100.0, np.nan, 100.0])
    np.testing.assert_allclose(metric.last_curve['mIoU'], np.full(60, 100.0))
    np.testing.assert_array_equal(metric.last_curve['thresholds'], metric.thresholds)
    # BaseMetric clears its buffer after evaluation.
    assert metric.results == []


def test_all_zero_cams_predict_only_background():
    rng = np.random.default_rng(1)
    gt = toy_gt(rng)
    metric = CAMMetric(thresholds=[0.0, 0.5], class_names=CLASSES)
    metric.process({}, [make_sample(np.zeros((3,) + gt.shape, np.float32), gt)])
    res = metric.evaluate(size=1)
    valid = gt != 255
    bg_iou = ((gt == 0) & valid).sum() / valid.sum()
    # background IoU, then cat and person at 0; dog is absent everywhere.
    assert res['cam/mIoU'] == pytest.approx(100 * bg_iou / 3)
    assert res['cam/recall'] == pytest.approx(100 * (1 + 0 + 0) / 3)
    # Only background is predicted, with precision = its share of valid pixels.
    assert res['cam/precision'] == pytest.approx(100 * bg_iou)
    assert res['cam/best_threshold'] == 0.0
    np.testing.assert_allclose(metric.last_table['IoU'], [100 * bg_iou, 0, np.nan, 0])


def test_best_threshold_is_picked():
    gt = np.zeros((8, 8), dtype=np.uint8)
    gt[2:6, 2:6] = 2
    cams = np.zeros((3, 8, 8), dtype=np.float32)
    cams[1] = 0.4  # the background region scores 0.4 for 'dog'
    cams[1, 2:6, 2:6] = 0.6
    metric = CAMMetric(thresholds=[0.1, 0.3, 0.5, 0.7], class_names=CLASSES)
    metric.process({}, [make_sample(cams, gt)])
    res = metric.evaluate(size=1)
    assert res['cam/best_threshold'] == 0.5
    assert res['cam/mIoU'] == pytest.approx(100.0)
    curve = metric.last_curve['mIoU']
    # Below 0.4 everything is 'dog': bg IoU 0, dog IoU 16/64.
    np.testing.assert_allclose(curve, [100 * 0.125, 100 * 0.125, 100.0, 100 * 0.75 / 2])

    # A score equal to the threshold is background: at 0.4 the background is right.
    metric = CAMMetric(thresholds=[0.35, 0.4], class_names=CLASSES)
    metric.process({}, [make_sample(cams, gt)])
    res = metric.evaluate(size=1)
    assert res['cam/best_threshold'] == pytest.approx(0.4)
    assert res['cam/mIoU'] == pytest.approx(100.0)


def test_confusion_is_accumulated_over_the_split():
    rng = np.random.default_rng(2)
    thresholds = np.arange(10) / 10
    metric = CAMMetric(thresholds=thresholds, class_names=CLASSES)
    total = 0
    per_image = []
    for i in range(4):
        gt = toy_gt(rng)
        cams = (rng.random((3,) + gt.shape) * one_hot_cams(gt, 3).clip(0.3, 1)).astype(np.float32)
        metric.process({}, [make_sample(cams, gt, f'{i}.jpg')])
        conf = sweep_confusion(cams, gt, thresholds)
        total = total + conf
        per_image.append(miou_from_confusion(conf))
    res = metric.evaluate(size=4)
    curve = miou_from_confusion(total) * 100
    best = int(np.argmax(curve))
    assert res['cam/mIoU'] == pytest.approx(curve[best])
    assert res['cam/best_threshold'] == pytest.approx(thresholds[best])
    np.testing.assert_allclose(metric.last_curve['mIoU'], curve)
    # Not the mean of per-image mIoUs.
    assert not np.allclose(np.mean(per_image, axis=0) * 100, curve)


def test_dict_samples_and_dataset_meta():
    rng = np.random.default_rng(3)
    gt = toy_gt(rng)
    sample = make_sample(one_hot_cams(gt, 3), gt).to_dict()
    assert isinstance(sample['gt_sem_seg'], dict)
    metric = CAMMetric(num_thresholds=4)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [sample])
    res = metric.evaluate(size=1)
    assert res['cam/mIoU'] == pytest.approx(100.0)
    assert metric.last_table['Class'] == list(CLASSES)


def test_custom_cam_key_and_prefix():
    rng = np.random.default_rng(4)
    gt = toy_gt(rng)
    sample = make_sample(np.zeros((3,) + gt.shape, np.float32), gt)
    sample.refined_cams = torch.from_numpy(one_hot_cams(gt, 3))
    metric = CAMMetric(cam_key='refined_cams', prefix='refined', num_thresholds=2)
    metric.process({}, [sample])
    res = metric.evaluate(size=1)
    assert res['refined/mIoU'] == pytest.approx(100.0)
    # Without names, generic ones are used.
    assert metric.last_table['Class'] == ['background', 'class_1', 'class_2', 'class_3']


def test_shape_errors_name_the_image():
    gt = np.zeros((6, 7), dtype=np.uint8)
    metric = CAMMetric(class_names=CLASSES)
    with pytest.raises(ValueError, match=r'bad\.jpg.*\(3, 6, 8\).*\(6, 7\)'):
        metric.process({}, [make_sample(np.zeros((3, 6, 8), np.float32), gt, 'bad.jpg')])
    with pytest.raises(ValueError, match=r'few\.jpg.*\(2, 6, 7\).*expected 3'):
        metric.process({}, [make_sample(np.zeros((2, 6, 7), np.float32), gt, 'few.jpg')])
    with pytest.raises(KeyError, match='pred_cams'):
        sample = SegDataSample(metainfo=dict(img_path='none.jpg'))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 6, 7, dtype=torch.uint8))
        metric.process({}, [sample])


def test_mixed_class_counts_are_rejected():
    metric = CAMMetric(num_thresholds=2)
    gt = np.zeros((4, 4), dtype=np.uint8)
    metric.process({}, [make_sample(np.zeros((3, 4, 4), np.float32), gt, 'a.jpg'),
                        make_sample(np.zeros((2, 4, 4), np.float32), gt, 'b.jpg')])
    with pytest.raises(ValueError, match='different histogram shapes'):
        metric.evaluate(size=2)


def test_results_stay_small():
    # Per image only the non-zero histogram cells are kept, not (T, C+1, C+1).
    gt = np.zeros((32, 32), dtype=np.uint8)
    gt[8:24, 8:24] = 5
    cams = np.zeros((80, 32, 32), dtype=np.float32)
    cams[4] = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    metric = CAMMetric()
    metric.process({}, [make_sample(cams, gt)])
    (result, ) = metric.results
    # At most one cell per (gt, threshold rank): background and class 5.
    assert result['index'].size <= 2 * (metric.thresholds.size + 1) + 1
    assert tuple(result['shape']) == (61, 81, 81)


def test_through_mmengine_evaluator(tmp_path):
    rng = np.random.default_rng(5)
    samples, gts = [], []
    for i in range(4):
        gt = toy_gt(rng)
        cams = one_hot_cams(gt, 3) * 0.8
        # A wrong 'dog' response at 0.3 that only thresholds >= 0.3 remove.
        cams[1][gt == 0] = 0.3
        samples.append(make_sample(cams, gt, f'{i}.jpg'))
        gts.append(gt)

    evaluator = Evaluator(CAMMetric(num_thresholds=10))
    evaluator.dataset_meta = dict(classes=CLASSES)
    evaluator.process(data_samples=samples[:2], data_batch={})
    evaluator.process(data_samples=samples[2:], data_batch={})
    res = evaluator.evaluate(size=4)
    assert res['cam/mIoU'] == pytest.approx(100.0)
    assert res['cam/best_threshold'] == pytest.approx(0.3)

    # Built from a config, as a runner does, with mmseg as the default scope.
    with DefaultScope.overwrite_default_scope('mmseg'):
        evaluator = Evaluator(dict(type='CAMMetric', thresholds=[0.1, 0.2, 0.3, 0.4]))
    evaluator.dataset_meta = dict(classes=CLASSES)
    res = evaluator.offline_evaluate(data_samples=samples, chunk_size=3)
    assert res['cam/mIoU'] == pytest.approx(100.0)
    assert res['cam/best_threshold'] == pytest.approx(0.3)
