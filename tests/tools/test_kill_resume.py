"""A training killed mid-epoch and resumed with ``--resume`` ends where an uninterrupted one does.

mmengine checkpoints the model, optimizer, parameter schedulers and message hub, but not
the random number generators. With ``num_workers=0`` the random augmentations draw from the
main process's numpy generator, which a resumed run re-seeds at start-up, so a resumed run
would augment the remaining epochs differently from an uninterrupted one. The test
therefore trains without random augmentation (the paired view is a deterministic mirror,
dropout and drop path are 0); the sampler's shuffling is seeded by ``seed + epoch`` and is
the same either way. Everything else is restored exactly, so the final weights and
optimizer state are compared for exact equality.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
import torch

from projects.acr.utils import allow_mmengine_checkpoints, is_complete_checkpoint

ROOT = Path(__file__).resolve().parents[2]
NUM_TRAIN = 24  # batch 1: 24 steps per epoch, room to be killed in the middle of one
MAX_EPOCHS = 3

TINY_CONFIG = """
_base_ = {base!r}
train_dataloader = dict(batch_size=1, dataset=dict(data_root={data_root!r}))
train_cfg = dict(max_epochs={max_epochs})
"""
_STEP_OF_EPOCH_2 = re.compile(r'Epoch\(train\)\s+\[2\]\[\s*(\d+)/')


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', WANDB_MODE='disabled',
               PYTHONUNBUFFERED='1')
    env.pop('PYTHONPATH', None)
    return env


def _train(config: str, work_dir: str, *extra: str,
           log: Optional[Path] = None) -> subprocess.Popen:
    """Starts tools/train.py; its output goes to ``log``, or to a pipe without one."""
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir, *extra]
    if log is None:
        return subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    with log.open('w') as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=out,
                                stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, log: Path) -> str:
    proc.wait(timeout=300)
    out = log.read_text()
    assert proc.returncode == 0, out[-5000:]
    return out


def _load(path: str) -> dict:
    allow_mmengine_checkpoints()  # what tools/train.py does; additive, unlike safe_globals()
    return torch.load(path, map_location='cpu', weights_only=True)


def _assert_equal_states(a, b, where: str = '') -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f'{where} differs'
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f'{where}: keys differ'
        for key in a:
            _assert_equal_states(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f'{where}: lengths differ'
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal_states(x, y, f'{where}[{i}]')
    else:
        assert a == b, f'{where}: {a} != {b}'


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path, shared_toy_dataset):
    data_root = shared_toy_dataset(num_train=NUM_TRAIN, num_val=2, img_size=48, seed=0)
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG.format(
        base=str(ROOT / 'tests' / 'data' / 'tiny_toy_train.py'), data_root=data_root,
        max_epochs=MAX_EPOCHS))
    killed_dir, reference_dir = str(tmp_path / 'killed'), str(tmp_path / 'reference')

    # The uninterrupted run goes alongside; its output goes to a file so that it never
    # waits on a full pipe.
    reference_log = tmp_path / 'reference.log'
    reference = _train(str(config), reference_dir, log=reference_log)
    victim = _train(str(config), killed_dir)
    output = []
    for line in victim.stdout:
        output.append(line)
        match = _STEP_OF_EPOCH_2.search(line)
        # Epoch 1's checkpoint is written before epoch 2 starts.
        if match and int(match.group(1)) >= 3:
            victim.send_signal(signal.SIGKILL)
            break
    victim.wait(timeout=60)
    victim.stdout.close()
    assert victim.returncode == -signal.SIGKILL, ''.join(output)[-5000:]

    # Killed in the middle of epoch 2: epoch 1 is saved and named, epoch 2 was never saved.
    epoch_1 = osp.join(killed_dir, 'epoch_1.pth')
    assert is_complete_checkpoint(epoch_1)
    assert not osp.exists(osp.join(killed_dir, 'epoch_2.pth')), 'the kill came too late'
    with open(osp.join(killed_dir, 'last_checkpoint')) as f:
        assert f.read().strip() == epoch_1

    resumed_log_file = tmp_path / 'resumed.log'
    resumed_log = _finish(_train(str(config), killed_dir, '--resume', log=resumed_log_file),
                          resumed_log_file)
    _finish(reference, reference_log)
    assert f'resumed epoch: 1, iter: {NUM_TRAIN}' in resumed_log
    assert 'Epoch(train) [1]' not in resumed_log

    resumed = _load(osp.join(killed_dir, f'epoch_{MAX_EPOCHS}.pth'))
    uninterrupted = _load(osp.join(reference_dir, f'epoch_{MAX_EPOCHS}.pth'))
    assert resumed['meta']['iter'] == uninterrupted['meta']['iter'] == MAX_EPOCHS * NUM_TRAIN
    _assert_equal_states(resumed['state_dict'], uninterrupted['state_dict'], 'state_dict')
    _assert_equal_states(resumed['optimizer'], uninterrupted['optimizer'], 'optimizer')
    _assert_equal_states(resumed['param_schedulers'], uninterrupted['param_schedulers'],
                         'param_schedulers')
