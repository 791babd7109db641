import io
import os
import os.path as osp
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from projects.acr.utils import allow_mmengine_checkpoints, mmengine_checkpoint_globals
from projects.acr.utils.checkpoint_safe_globals import history_buffer_method

ROOT = Path(__file__).resolve().parents[2]

# The toy recipe shrunk to seconds, with validation each epoch so that the checkpoint also
# carries what CheckpointHook(save_best=...) records (best score, best checkpoint path).
TINY_CONFIG = """
_base_ = {base!r}
model = dict(
    backbone=dict(timm_kwargs=dict(img_size=48, patch_size=8, depth=2)),
    head=dict(start_layer=1))
crop = (48, 48)
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_root={data_root!r},
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResize', scale=crop, ratio_range=(0.9, 1.14), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='RandomCrop', crop_size=crop),
            dict(type='Pad', size=crop, pad_val=dict(img=(104, 116, 124), seg=255)),
            dict(type='PairedViews', flip=True),
            dict(type='PackClsInputs'),
        ]))
val_dataloader = dict(batch_size=1, dataset=dict(data_root={data_root!r}))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""


def _global_name(item) -> str:
    return item[1] if isinstance(item, tuple) else f'{item.__module__}.{item.__qualname__}'


def _roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    allow_mmengine_checkpoints()
    return torch.load(buffer, weights_only=True)


def test_restricted_getattr_resolves_only_the_statistics_methods():
    for name in ('min', 'max', 'current', 'mean'):
        assert history_buffer_method(HistoryBuffer, name) is getattr(HistoryBuffer, name)
    for owner, name in ((HistoryBuffer, '__init__'), (HistoryBuffer, 'update'),
                        (os, 'system'), (getattr, '__self__')):
        with pytest.raises(pickle.UnpicklingError, match='allows getattr only'):
            history_buffer_method(owner, name)


def test_message_hub_state_survives_weights_only_loading():
    hub = MessageHub('safe_globals_test')
    for value in (0.5, 0.25, 0.125):
        hub.update_scalar('train/loss', value)
    hub.update_info('best_score', np.float64(41.5))
    hub.update_info('keep_ckpt_ids', [1, 2])
    hub.update_info('last_ckpt', '/work/epoch_2.pth')
    loaded = _roundtrip({'message_hub': hub.state_dict()})['message_hub']

    buffer = loaded['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    np.testing.assert_array_equal(buffer.data[0], [0.5, 0.25, 0.125])
    assert buffer.statistics('mean') == pytest.approx(0.875 / 3)
    assert loaded['runtime_info']['best_score'] == 41.5
    assert isinstance(loaded['runtime_info']['best_score'], np.float64)

    resumed = MessageHub('safe_globals_resumed')
    resumed.load_state_dict(loaded)
    assert resumed.get_scalar('train/loss').current() == 0.125


class _ReachesForInit:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: not a statistics method."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_other_getattr_calls_are_refused():
    with pytest.raises(pickle.UnpicklingError, match='allows getattr only'):
        _roundtrip({'payload': _ReachesForInit()})


@pytest.mark.slow
def test_training_checkpoints_load_and_resume_with_weights_only(tmp_path, shared_toy_dataset):
    data_root = shared_toy_dataset(num_train=8, num_val=2, img_size=48, seed=0)
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG.format(
        base=str(ROOT / 'configs' / 'acr' / 'vit-tiny_toy.py'), data_root=data_root))
    work_dir = str(tmp_path / 'work')
    env = dict(os.environ, OMP_NUM_THREADS='1', WANDB_MODE='disabled')
    env.pop('PYTHONPATH', None)

    def train(*extra: str) -> str:
        proc = subprocess.run(
            [sys.executable, 'tools/train.py', str(config), '--work-dir', work_dir, *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=300)
        assert proc.returncode == 0, proc.stdout[-5000:]
        return proc.stdout

    # Keeping the best epoch (off by default) records the most mmengine state.
    train('--cfg-options', 'default_hooks.checkpoint.save_best=cam/mIoU',
          'default_hooks.checkpoint.rule=greater')
    checkpoint = osp.join(work_dir, 'epoch_2.pth')
    # Plain torch (a fresh process, nothing allow-listed) refuses these globals; the
    # allow-list covers every one of them.
    unsafe = set(subprocess.run(
        [sys.executable, '-c', 'import sys, torch; print(*torch.serialization.'
         'get_unsafe_globals_in_checkpoint(sys.argv[1]), sep="\\n")', checkpoint],
        env=env, stdout=subprocess.PIPE, text=True, check=True).stdout.split())
    assert {'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr'} <= unsafe
    assert unsafe <= {_global_name(item) for item in mmengine_checkpoint_globals()}

    # mmengine's resume loads through _load_checkpoint -> torch.load with torch's default,
    # which is weights_only=True on this torch.
    allow_mmengine_checkpoints()
    loaded = _load_checkpoint(checkpoint, map_location='cpu')
    assert loaded['meta']['epoch'] == 2
    runtime_info = loaded['message_hub']['runtime_info']
    assert 'best_score' in runtime_info and osp.isfile(runtime_info['best_ckpt'])
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)

    log = train('--resume', '--cfg-options', 'train_cfg.max_epochs=3')
    assert f'latest complete checkpoint: {checkpoint}' in log
    assert 'resumed epoch: 2, iter: 4' in log
    third = _load_checkpoint(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu')
    assert (third['meta']['epoch'], third['meta']['iter']) == (3, 6)
