"""A toy AffinityNet run: train from the pseudo labels with tools/train.py, resume, refine
with tools/refine_labels.py, and compare the label mIoU before and after the walk."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from affinity_test_utils import REPO, TOY_CONFIG
from PIL import Image
from scipy import ndimage

from projects.acr.pseudo_labels import save_cams

pytestmark = pytest.mark.slow


def miou(label_dir, mask_dir, ids, num_classes=3):
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for i in ids:
        pred = np.array(Image.open(osp.join(label_dir, f'{i}.png'))).astype(int)
        gt = np.array(Image.open(osp.join(mask_dir, f'{i}.png'))).astype(int)
        valid = pred != 255
        for c in range(num_classes):
            p, g = (pred == c) & valid, (gt == c) & valid
            inter[c] += (p & g).sum()
            union[c] += (p | g).sum()
    return float(np.mean(inter / np.maximum(union, 1)))


def run(*args):
    env = dict(os.environ, PYTHONPATH=REPO, WANDB_MODE='disabled', OMP_NUM_THREADS='2')
    out = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def test_toy_affinity_run_keeps_or_improves_label_miou(shapes_data, tmp_path):
    ids = (shapes_data / 'ImageSets/Segmentation/train.txt').read_text().split()
    # Class maps that see only the object cores: the masks eroded, blurred and scaled down.
    cam_dir = tmp_path / 'cams'
    for i in ids:
        mask = np.array(Image.open(shapes_data / 'SegmentationClassAug' / f'{i}.png'))
        cams, present = [], []
        for c in (1, 2):
            core = ndimage.binary_erosion(mask == c, iterations=3).astype(np.float32)
            cams.append(np.clip(ndimage.gaussian_filter(core, 2) * 1.6, 0, 1))
            present.append(c - 1)
        save_cams(str(cam_dir / f'{i}.npz'), np.stack(cams), np.array(present))
    work = tmp_path / 'aff'
    data = [f'train_dataloader.dataset.data_root={shapes_data}',
            f'train_dataloader.dataset.label_dir={shapes_data / "labels"}']
    train = [*data, 'train_dataloader.batch_size=3', 'default_hooks.checkpoint.interval=1',
             'param_scheduler.0.end=2']
    # One epoch, then a resumed second one (the checkpoint of a stopped run).
    run('tools/train.py', TOY_CONFIG, '--work-dir', str(work), '--cfg-options', *train,
        'train_cfg.max_epochs=1')
    assert osp.isfile(work / 'epoch_1.pth')
    run('tools/train.py', TOY_CONFIG, '--work-dir', str(work), '--resume', '--cfg-options',
        *train, 'train_cfg.max_epochs=2')
    assert osp.isfile(work / 'epoch_2.pth')

    out_dir = tmp_path / 'refined'
    run('tools/refine_labels.py', TOY_CONFIG, str(work / 'epoch_2.pth'), '--cam-dir',
        str(cam_dir), '--out-dir', str(out_dir), '--split', 'train', '--alpha', '4',
        '--summary-json', str(tmp_path / 'summary.json'), '--cfg-options', *data)
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['done'] == len(ids) and summary['failed'] == 0

    # Before: the same maps and background without the walk (logt 0).
    plain_dir = tmp_path / 'plain'
    run('tools/refine_labels.py', TOY_CONFIG, str(work / 'epoch_2.pth'), '--cam-dir',
        str(cam_dir), '--out-dir', str(plain_dir), '--split', 'train', '--alpha', '4',
        '--logt', '0', '--cfg-options', *data)
    masks = shapes_data / 'SegmentationClassAug'
    before, after = miou(plain_dir, masks, ids), miou(out_dir, masks, ids)
    print(f'toy label mIoU before the walk {100 * before:.2f}, after {100 * after:.2f}')
    assert after >= before - 0.02
