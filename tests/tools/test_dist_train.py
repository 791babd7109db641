"""tools/dist_train.sh: two CPU processes (torchrun, gloo) train like one process.

Why the two runs can end at the same weights:

* data order: ``DefaultSampler`` shuffles with ``seed + epoch`` (the seed is given
  explicitly, so no process draws its own) and hands rank ``r`` the interleaved slice
  ``perm[r::2]``. Step ``i`` of rank 0 and rank 1 with batch 2 together cover
  ``perm[4i:4i + 4]``, which is step ``i`` of one process with batch 4;
* augmentation: the random transforms (resize, flip, crop) are left out, so every sample
  is the same in both runs; the paired view is a deterministic mirror. Dropout and drop
  path are 0 in the tiny ViT;
* loss and gradient: the classification and ACR losses are means over the batch, and DDP
  averages the gradients of the ranks, so with equal per-rank batches the averaged
  gradient is the gradient of the mean over the global batch. Gradient clipping and AdamW
  then see the same gradient;
* initial weights: both runs seed with 0 before building the model (and DDP broadcasts
  rank 0's weights anyway).

What remains is float rounding: a mean of two means of two is not summed in the same order
as a mean of four, and matrix products over batches of 2 and 4 block differently. Those
differences are ~1e-7 relative and are checked with a tight tolerance.

The optimizer is SGD with momentum (the published ACR recipe's kind) rather than the toy
recipe's AdamW: the key part of each qkv bias has a true gradient of exactly zero (adding a
constant to every key does not change the softmax), so its computed gradient is rounding
noise, and Adam's normalisation turns that noise into steps of the size of the learning
rate that differ between any two runs, distributed or not.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from projects.acr.utils import allow_mmengine_checkpoints

ROOT = Path(__file__).resolve().parents[2]

# The toy recipe shrunk to seconds on a CPU, without random augmentation and validation.
TINY_CONFIG = """
_base_ = {base!r}
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9))
train_dataloader = dict(batch_size={batch_size}, dataset=dict(data_root={data_root!r}))
train_cfg = dict(max_epochs=2)
custom_hooks = [dict(type='CAMQualityHook', num_images=6, interval=2, batch_size=2)]
"""


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', WANDB_MODE='disabled',
               PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    env.pop('PYTHONPATH', None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _start(cmd, env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-5000:]
    return out


def _load(path: str) -> dict:
    allow_mmengine_checkpoints()  # what tools/train.py does; additive, unlike safe_globals()
    return torch.load(path, map_location='cpu', weights_only=True)


@pytest.mark.slow
def test_two_cpu_processes_match_one_process(tmp_path, shared_toy_dataset):
    data_root = shared_toy_dataset(num_train=16, num_val=4, img_size=48, seed=0)
    base = str(ROOT / 'tests' / 'data' / 'tiny_toy_train.py')
    configs = {}
    for name, batch_size in (('dist', 2), ('single', 4)):
        configs[name] = tmp_path / f'{name}.py'
        configs[name].write_text(
            TINY_CONFIG.format(base=base, batch_size=batch_size, data_root=data_root))

    # Both runs at once: most of their time is start-up, not training.
    dist_run = _start(['bash', 'tools/dist_train.sh', str(configs['dist']), '2',
                       '--work-dir', str(tmp_path / 'dist')],
                      env=dict(_env(), PORT=str(_free_port())))
    single_run = _start([sys.executable, 'tools/train.py', str(configs['single']),
                         '--work-dir', str(tmp_path / 'single')], env=_env())
    dist_log = _finish(dist_run)
    _finish(single_run)

    assert 'Distributed training: True' in dist_log
    assert "backend='gloo'" in dist_log
    # 16 images / (2 processes x 2) = 4 steps per epoch, as for one process with batch 4.
    assert 'Epoch(train) [2][4/4]' in dist_log

    dist_ckpt = _load(osp.join(tmp_path, 'dist', 'epoch_2.pth'))
    single_ckpt = _load(osp.join(tmp_path, 'single', 'epoch_2.pth'))
    dist_meta, dist_weights = dist_ckpt['meta'], dist_ckpt['state_dict']
    single_meta, single_weights = single_ckpt['meta'], single_ckpt['state_dict']
    assert dist_meta['iter'] == single_meta['iter'] == 8
    assert dist_weights.keys() == single_weights.keys()
    init = _load(osp.join(tmp_path, 'single', 'epoch_1.pth'))['state_dict']
    moved = 0
    for key, value in single_weights.items():
        torch.testing.assert_close(dist_weights[key], value, rtol=1e-6, atol=1e-6,
                                   msg=f'{key} differs between 2 processes and 1')
        moved += int(not torch.equal(init[key], value))
    # The comparison is about trained weights: most tensors changed in the second epoch.
    assert moved > len(single_weights) // 2

    # The CAM quality hook: each rank maps 3 of the 6 images, the statistics are summed,
    # and only rank 0 logs, once, the figure one process computes from all 6.
    assert dist_log.count('CAM quality after epoch 2 on 6 training images') == 1
    quality = {name: _logged(tmp_path / name, 'cam_quality/cam_mIoU') for name in configs}
    assert len(quality['dist']) == len(quality['single']) == 1
    assert quality['dist'][0] == pytest.approx(quality['single'][0], abs=0.1)


def _logged(work_dir: Path, key: str) -> list:
    values = []
    for path in work_dir.glob('*/vis_data/scalars.json'):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if key in record:
                values.append(record[key])
    return values
