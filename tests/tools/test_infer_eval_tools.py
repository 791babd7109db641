"""tools/infer_cam.py and tools/eval_cam.py run as commands on a tiny toy tree."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import projects.acr  # noqa: F401  (registers the components)
from projects.acr.pseudo_labels import cam_path, load_cams

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'acr', 'vit-tiny_toy.py')
OPTIONS = ['model.backbone.timm_kwargs.img_size=48', 'model.backbone.timm_kwargs.depth=2',
           'model.head.start_layer=1']


@pytest.fixture(scope='module')
def toy(tmp_path_factory, shared_toy_dataset):
    base = tmp_path_factory.mktemp('tools')
    root = shared_toy_dataset(num_train=4, num_val=4, img_size=48, seed=0)
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.merge_from_dict({o.split('=')[0]: int(o.split('=')[1]) for o in OPTIONS})
    init_default_scope('mmseg')
    torch.manual_seed(0)
    ckpt = str(base / 'model.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, ckpt)
    return dict(root=root, ckpt=ckpt, base=base)


def run(args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1', WANDB_MODE='offline')
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          **kwargs)
    assert proc.returncode == 0, f'{args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}'
    return proc


def val_ids(root):
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'val.txt')) as f:
        return [line.strip() for line in f if line.strip()]


@pytest.mark.slow
def test_infer_then_evaluate(toy, tmp_path):
    cams = str(tmp_path / 'cams')
    infer = [sys.executable, 'tools/infer_cam.py', TOY_CONFIG, toy['ckpt'], '--split', 'val',
             '--data-root', toy['root'], '--out-dir', cams, '--scales', '1.0', '0.5',
             '--refine', '--overlay-dir', str(tmp_path / 'vis'), '--cfg-options'] + OPTIONS
    proc = run(infer)
    assert '4 done, 0 skipped (existing), 0 failed' in proc.stdout
    ids = val_ids(toy['root'])
    for img_id in ids:
        assert load_cams(cam_path(cams, img_id))['cams'].shape[1:] == (48, 48)
        assert (tmp_path / 'vis' / f'{img_id}.png').is_file()
    settings = json.loads((tmp_path / 'cams' / 'cam_inference.json').read_text())
    assert settings['scales'] == [1.0, 0.5] and settings['refine'] is True

    os.remove(cam_path(cams, ids[0]))
    proc = run(infer)
    assert '1 done, 3 skipped (existing), 0 failed' in proc.stdout

    summary = str(tmp_path / 'eval.json')
    proc = run([sys.executable, 'tools/eval_cam.py', TOY_CONFIG, '--data-root', toy['root'],
                '--split', 'val', '--cam-dir', cams, '--json', summary, '--num-thresholds', '10',
                '--curve', str(tmp_path / 'curve.png'), '--no-progress'])
    assert '| Class | IoU | Precision | Recall |' in proc.stdout
    result = json.loads(open(summary).read())
    # 10 thresholds over [0, 0.6) and the fixed 0.5, which is reported on its own too.
    assert result['num_images'] == 4 and len(result['curve']['mIoU']) == 11
    assert result['fixed_threshold'] == 0.5 and 'fixed threshold 0.500' in proc.stdout
    # The reported figure is the best point of the sweep and the IoU of its confusion matrix.
    assert result['mIoU'] == pytest.approx(max(m for m in result['curve']['mIoU']
                                               if m is not None))
    conf = np.asarray(result['confusion_at_best'], dtype=float)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.diag(conf) / (conf.sum(0) + conf.sum(1) - np.diag(conf))
    assert result['mIoU'] == pytest.approx(100 * np.nanmean(iou), abs=1e-6)
    assert (tmp_path / 'curve.png').is_file()

    # The masks themselves as labels, through the config-free path: a perfect score.
    proc = run([sys.executable, 'tools/eval_cam.py', '--data-root', toy['root'], '--split',
                'val', '--dataset-type', 'ToyClsDataset', '--label-dir',
                osp.join(toy['root'], 'SegmentationClassAug'), '--json', summary])
    assert json.loads(open(summary).read())['mIoU'] == pytest.approx(100.0)

    # A missing class-map file: an error naming it, or skipped and counted.
    os.remove(cam_path(cams, ids[1]))
    args = [sys.executable, 'tools/eval_cam.py', TOY_CONFIG, '--data-root', toy['root'],
            '--split', 'val', '--cam-dir', cams, '--curve', 'none']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    failed = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0 and f'{ids[1]}.npz' in failed.stderr
    proc = run(args + ['--on-missing', 'skip', '--json', summary])
    result = json.loads(open(summary).read())
    assert result['num_images'] == 3 and result['missing'] == [ids[1]]


@pytest.mark.slow
def test_torchrun_two_processes_share_the_split(toy, tmp_path):
    cams = str(tmp_path / 'cams')
    summary = str(tmp_path / 'summary.json')
    run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
         'tools/infer_cam.py', TOY_CONFIG, toy['ckpt'], '--split', 'train', '--data-root',
         toy['root'], '--out-dir', cams, '--launcher', 'pytorch', '--summary-json', summary,
         '--cfg-options'] + OPTIONS)
    report = json.loads(open(summary).read())
    per_rank = [set(r['done_ids']) for r in report['per_rank']]
    assert len(per_rank) == 2 and all(per_rank)
    assert not per_rank[0] & per_rank[1]
    with open(osp.join(toy['root'], 'ImageSets', 'Segmentation', 'train.txt')) as f:
        ids = {line.strip() for line in f if line.strip()}
    assert per_rank[0] | per_rank[1] == ids
    assert report['done'] == 4 and report['failed'] == 0
    assert all(osp.isfile(cam_path(cams, i)) for i in ids)
    assert all(load_cams(cam_path(cams, i))['cams'].shape[1:] == (48, 48) for i in ids)
