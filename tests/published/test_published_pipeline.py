"""The published VOC path, tool by tool, with the figures checked against the files.

``vit_voc.py`` runs at its real size (ViT-B/16, 384 px crops and test resize, two steps
per epoch)
through training with the CAM-quality hook, validation, the atomic checkpoint,
``--resume``, ``tools/test.py``, ``tools/infer_cam.py --overlay-dir``,
``tools/eval_cam.py`` and ``tools/make_pseudo_labels.py`` with the CRF; then
``tools/run_pipeline.py`` runs the published VOC configs (ACR, AffinityNet, DeepLabV2,
sizes reduced) and ``tools/test.py --tta`` with the CRF scores its segmenter.
"""
import glob
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from published_configs import reduced_config, run_tool

from projects.acr.datasets import VOC_CLASSES
from projects.acr.pseudo_labels import dense_cams, load_cams

pytestmark = pytest.mark.slow

STAGE1 = 'configs/acr/vit_voc.py'
AFFINITY = 'configs/affinity/affinitynet_r101-d8_1xb8-8e_voc-448x448.py'
STAGE2 = 'configs/seg/deeplabv2_r101-d8_4xb4-40k_voc-pseudo-512x512.py'


def _ids(tree, split):
    return open(osp.join(tree, 'ImageSets', 'Segmentation', f'{split}.txt')).read().split()


def _png(path):
    return np.asarray(Image.open(path))


def _plain_miou(masks, preds):
    """mIoU in percent over the classes in the masks or predictions; 255 is not scored."""
    num = len(VOC_CLASSES)
    conf = np.zeros((num, num), np.int64)
    for gt, pred in zip(masks, preds):
        keep = (gt != 255) & (pred != 255)
        conf += np.bincount(gt[keep].astype(np.int64) * num + pred[keep].astype(np.int64),
                            minlength=num * num).reshape(num, num)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    present = union > 0
    return 100 * float(np.mean(np.diag(conf)[present] / union[present]))


def _cam_predictions(cam_dir, ids, threshold):
    preds = []
    for i in ids:
        data = load_cams(osp.join(cam_dir, f'{i}.npz'))
        cams = dense_cams(data['cams'], data['class_ids'], len(VOC_CLASSES) - 1)
        preds.append(np.where(cams.max(0) > np.float32(threshold), cams.argmax(0) + 1, 0))
    return preds


def _scalars(work_dir):
    path = sorted(glob.glob(osp.join(work_dir, '2*', 'vis_data', 'scalars.json')))[-1]
    return [json.loads(line) for line in open(path)]


def test_vit_voc_at_its_real_size_through_every_tool(trees, tmp_path):
    tree = trees['voc']
    config = reduced_config(STAGE1, str(tmp_path), tree, shrink=False, num_val=1)
    work = str(tmp_path / 'stage1')
    out = run_tool('train.py', [config, '--work-dir', work], cwd=str(tmp_path))
    assert osp.isfile(osp.join(work, 'epoch_1.pth')), out[-3000:]
    # The hook draws image | maps | pseudo label | mask on the original image.
    vis = sorted(glob.glob(osp.join(work, '2*', 'vis_data', 'vis_image',
                                    'cam_quality_overlay_*_1.png')))
    assert len(vis) == 1
    shapes = {_png(osp.join(tree, 'JPEGImages', f'{i}.jpg')).shape for i in _ids(tree, 'train')}
    for path in vis:
        h, w4, _ = _png(path).shape
        assert (h, w4 // 4, 3) in shapes
    logged = [s for s in _scalars(work) if 'cam/mIoU' in s]
    assert len(logged) == 1

    out = run_tool('train.py', [config, '--work-dir', work, '--resume', '--cfg-options',
                                'train_cfg.max_epochs=2'], cwd=str(tmp_path))
    assert 'resumed' in out.lower(), out[-3000:]
    ckpt = osp.join(work, 'epoch_2.pth')
    assert osp.isfile(ckpt)
    assert not glob.glob(osp.join(work, '*.tmp*'))

    run_tool('test.py', [config, ckpt, '--work-dir', str(tmp_path / 'test'),
                         '--out-json', str(tmp_path / 'test.json')], cwd=str(tmp_path))
    tested = json.load(open(tmp_path / 'test.json'))['metrics']

    cams, overlays = str(tmp_path / 'cams'), str(tmp_path / 'overlays')
    run_tool('infer_cam.py', [config, ckpt, '--split', 'train', '--out-dir', cams,
                              '--overlay-dir', overlays], cwd=str(tmp_path))
    ids = _ids(tree, 'train')
    for i in ids:
        image = _png(osp.join(tree, 'JPEGImages', f'{i}.jpg'))
        assert _png(osp.join(overlays, f'{i}.png')).shape == image.shape
        assert load_cams(osp.join(cams, f'{i}.npz'))['cams'].shape[1:] == image.shape[:2]

    run_tool('eval_cam.py', [config, '--cam-dir', cams, '--split', 'train', '--json',
                             str(tmp_path / 'cams.json'), '--no-progress'], cwd=str(tmp_path))
    cam_eval = json.load(open(tmp_path / 'cams.json'))
    masks = [_png(osp.join(tree, 'SegmentationClassAug', f'{i}.png')) for i in ids]
    preds = _cam_predictions(cams, ids, cam_eval['best_threshold'])
    assert cam_eval['mIoU'] == pytest.approx(_plain_miou(masks, preds), abs=1e-6)
    # tools/test.py scored the same image with the same model, before the float16
    # storage of the maps.
    assert cam_eval['mIoU'] == pytest.approx(tested['cam/mIoU'], abs=1.0)

    labels = str(tmp_path / 'pseudo_labels')
    run_tool('make_pseudo_labels.py', ['--cam-dir', cams, '--config', config, '--split',
                                       'train', '--out-dir', labels], cwd=str(tmp_path))
    run_tool('eval_cam.py', [config, '--label-dir', labels, '--split', 'train', '--json',
                             str(tmp_path / 'labels.json'), '--no-progress'],
             cwd=str(tmp_path))
    label_eval = json.load(open(tmp_path / 'labels.json'))
    pseudo = [_png(osp.join(labels, f'{i}.png')) for i in ids]
    assert [p.shape for p in pseudo] == [m.shape for m in masks]
    assert label_eval['mIoU'] == pytest.approx(_plain_miou(masks, pseudo), abs=1e-6)


def test_run_pipeline_with_the_published_voc_configs(trees, tmp_path):
    tree = trees['voc']
    stage1 = reduced_config(STAGE1, str(tmp_path), tree)
    reduced_config(AFFINITY, str(tmp_path), tree)  # found next to stage 1 by its name
    stage2 = reduced_config(STAGE2, str(tmp_path), tree)
    work = str(tmp_path / 'pipeline')
    out = run_tool('run_pipeline.py', [stage1, stage2, '--work-dir', work, '--data-root', tree,
                                       '--no-wandb'], cwd=str(tmp_path))
    report = json.load(open(osp.join(work, 'report.json')))
    assert {s['status'] for s in report['steps'].values()} == {'done'}, out[-3000:]
    assert 'affinity_train' in report['steps']
    figures = report['figures']
    ids = _ids(tree, 'train')
    masks = [_png(osp.join(tree, 'SegmentationClassAug', f'{i}.png')) for i in ids]
    labels = [_png(osp.join(work, 'pseudo_labels', f'{i}.png')) for i in ids]
    assert figures['pseudo_label_mIoU'] == pytest.approx(_plain_miou(masks, labels), abs=1e-6)
    preds = _cam_predictions(osp.join(work, 'cams'), ids, figures['cam_best_threshold'])
    assert figures['cam_mIoU'] == pytest.approx(_plain_miou(masks, preds), abs=1e-6)
    seg = json.load(open(osp.join(work, 'eval', 'segmentation.json')))
    assert figures['segmentation_mIoU'] == seg['metrics']['mIoU']

    ckpt = sorted(glob.glob(osp.join(work, 'stage2', 'iter_*.pth')))[-1]
    run_tool('test.py', [stage2, ckpt, '--tta', '--work-dir', str(tmp_path / 'tta'),
                         '--out-json', str(tmp_path / 'tta.json'), '--cfg-options',
                         'tta_model.dense_crf=True',
                         f'test_dataloader.dataset.data_root={tree}'], cwd=str(tmp_path))
    tta = json.load(open(tmp_path / 'tta.json'))['metrics']
    assert 0 <= tta['mIoU'] <= 100
