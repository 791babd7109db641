import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from projects.acr.datasets.toy_meta import TOY_CLASSES
from projects.acr.pipeline import (PipelineSettings, build_steps, final_checkpoint, plan,
                                   run_pipeline)
from projects.acr.pipeline.wsss_pipeline import load_config
from projects.acr.pseudo_labels import dense_cams, load_cams

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1 = osp.join(ROOT, 'configs/acr/vit-tiny_toy.py')
STAGE2 = osp.join(ROOT, 'configs/seg/deeplabv2_r18-d8_1xb8-1k_toy-pseudo-96x96.py')

# A pipeline small enough for a test: 48 px images, a 2-block ViT for one epoch, a few
# segmenter iterations.
TINY_STAGE1 = [
    'model.backbone.timm_kwargs.img_size=48', 'model.backbone.timm_kwargs.depth=2',
    'model.head.start_layer=0', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'train_dataloader.batch_size=4', 'custom_hooks=[]'
]
TINY_STAGE2 = [
    'train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
    'train_dataloader.batch_size=2', 'param_scheduler=[]'
]


@pytest.fixture(scope='module')
def toy_root(shared_toy_dataset):
    return shared_toy_dataset(num_train=8, num_val=4, img_size=48, seed=0)


def _settings(toy_root, work_dir):
    return PipelineSettings(
        stage1_config=STAGE1, stage2_config=STAGE2, work_dir=str(work_dir),
        data_root=toy_root, cam_split='train_aug', eval_split='train',
        stage1_options=list(TINY_STAGE1), stage2_options=list(TINY_STAGE2),
        pseudo_label_args=['--no-crf'])


def _touch_all_outputs(steps):
    for step in steps:
        for path in step.outputs():
            os.makedirs(osp.dirname(path), exist_ok=True)
            open(path, 'w').close()


def test_plan_runs_everything_first_then_exactly_the_incomplete_step(toy_root, tmp_path):
    settings = _settings(toy_root, tmp_path)
    steps = build_steps(settings)
    assert plan(steps) == [s.name for s in steps]
    _touch_all_outputs(steps)
    assert plan(steps) == []
    os.remove(steps[2].outputs()[3])  # one pseudo label
    assert plan(steps) == ['pseudo_labels']
    assert plan(steps, force=['stage2_test']) == ['pseudo_labels', 'stage2_test']


def test_final_checkpoint_follows_the_schedule(tmp_path):
    cfg = load_config(STAGE1, ['train_cfg.max_epochs=3'])
    assert final_checkpoint(cfg, 'w') == osp.join('w', 'epoch_3.pth')
    cfg = load_config(STAGE2, [])
    assert final_checkpoint(cfg, 'w') == osp.join('w', f'iter_{cfg.train_cfg.max_iters}.pth')


def test_unknown_forced_step_is_rejected(toy_root, tmp_path):
    with pytest.raises(KeyError, match='unknown step'):
        run_pipeline(_settings(toy_root, tmp_path), force=['nope'])


def test_missing_split_list_names_the_file(toy_root, tmp_path):
    settings = _settings(toy_root, tmp_path)
    settings.cam_split = 'no_such_split'
    with pytest.raises(FileNotFoundError, match='no_such_split'):
        build_steps(settings)


def _plain_miou(masks, preds):
    """mIoU in percent over the classes in the masks or predictions; 255 is not scored."""
    num = len(TOY_CLASSES)
    conf = np.zeros((num, num), np.int64)
    for gt, pred in zip(masks, preds):
        keep = (gt != 255) & (pred != 255)
        conf += np.bincount(gt[keep].astype(np.int64) * num + pred[keep],
                            minlength=num * num).reshape(num, num)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    present = union > 0
    return 100 * float(np.mean(np.diag(conf)[present] / union[present]))


def _last_logged(work_dir, key):
    """The last value of ``key`` in the newest run's scalars.json, read line by line."""
    path = sorted(glob.glob(osp.join(str(work_dir), '2*', 'vis_data', 'scalars.json')))[-1]
    values = [rec[key] for rec in map(json.loads, open(path)) if key in rec]
    return values[-1]


@pytest.mark.slow
def test_pipeline_end_to_end_then_skips_and_reruns_one_step(toy_root, tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'disabled')  # the tools' subprocesses inherit it
    settings = _settings(toy_root, tmp_path)
    figures = run_pipeline(settings, log=lambda msg: None)
    # The report's figures are those of the files the steps wrote, recomputed plainly.
    ids = open(osp.join(toy_root, 'ImageSets/Segmentation/train.txt')).read().split()
    masks = [np.asarray(Image.open(osp.join(toy_root, 'SegmentationClassAug', f'{i}.png')))
             for i in ids]
    labels = [np.asarray(Image.open(tmp_path / 'pseudo_labels' / f'{i}.png')) for i in ids]
    assert figures['pseudo_label_mIoU'] == pytest.approx(_plain_miou(masks, labels), abs=1e-6)
    thr = figures['cam_best_threshold']
    preds = []
    for i in ids:
        data = load_cams(str(tmp_path / 'cams' / f'{i}.npz'))
        cams = dense_cams(data['cams'], data['class_ids'], len(TOY_CLASSES) - 1)
        preds.append(np.where(cams.max(0) > np.float32(thr), cams.argmax(0) + 1, 0))
    assert figures['cam_mIoU'] == pytest.approx(_plain_miou(masks, preds), abs=1e-6)
    assert figures['val_cam_mIoU'] == _last_logged(tmp_path / 'stage1', 'cam/mIoU')
    seg = json.load(open(tmp_path / 'eval' / 'segmentation.json'))
    assert figures['segmentation_mIoU'] == seg['metrics']['mIoU']
    report = json.load(open(tmp_path / 'report.json'))
    assert {s['status'] for s in report['steps'].values()} == {'done'}
    assert (tmp_path / 'report.md').read_text().count('| 1 |') == 3

    run_pipeline(settings, log=lambda msg: None)
    report = json.load(open(tmp_path / 'report.json'))
    assert {s['status'] for s in report['steps'].values()} == {'skipped'}

    cam = sorted((tmp_path / 'cams').glob('*.npz'))[0]
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / 'cams').glob('*.npz')}
    cam.unlink()
    run_pipeline(settings, log=lambda msg: None)
    report = json.load(open(tmp_path / 'report.json'))
    ran = [name for name, s in report['steps'].items() if s['status'] == 'done']
    assert ran == ['cams'] and cam.exists()
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / 'cams').glob('*.npz')}
    assert {k for k in after if after[k] != before.get(k)} == {cam.name}
