"""tools/sweep.py --local end to end: two tiny real trials on the toy data as an Optuna study."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from projects.acr.sweeps import read_metric

ROOT = Path(__file__).resolve().parents[2]

TINY_CONFIG = """
_base_ = [{base!r}]
data_root = {data_root!r}
crop_size = (48, 48)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.14), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size, pad_val=dict(img=(103.53, 116.28, 123.675), seg=255)),
    dict(type='PairedViews', flip=True),
    dict(type='PackClsInputs'),
]
model = dict(backbone=dict(timm_kwargs=dict(img_size=48, depth=2)), head=dict(start_layer=1))
train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1))
"""

SPEC = """
program: tools/train.py
method: grid
metric: {name: cam/mIoU, goal: maximize}
parameters:
  model.acr_loss.loss_weight: {values: [0, 125]}
  randomness.seed: {value: 0}
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - configs/acr/vit-tiny_toy.py
  - --cfg-options
  - ${args_no_hyphens}
"""


def _sweep(spec: str, config: str, root: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', WANDB_MODE='offline')
    env.pop('PYTHONPATH', None)
    cmd = [sys.executable, 'tools/sweep.py', spec, '--local', '--config', config,
           '--work-dir-root', root, '--cfg-options', 'train_dataloader.num_workers=0']
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _launches(trial_dir: str) -> list:
    return sorted(glob.glob(osp.join(trial_dir, '2*', 'vis_data', 'scalars.json')))


@pytest.mark.slow
def test_local_sweep_two_real_trials_study_table_and_rerun(tmp_path, shared_toy_dataset):
    data_root = shared_toy_dataset(num_train=16, num_val=8, img_size=48, seed=0)
    config = tmp_path / 'tiny_toy.py'
    config.write_text(TINY_CONFIG.format(base=str(ROOT / 'configs/acr/vit-tiny_toy.py'),
                                         data_root=data_root))
    spec = tmp_path / 'two_trials.yaml'
    spec.write_text(SPEC)
    root = str(tmp_path / 'sweeps')
    sweep_dir = osp.join(root, 'two_trials')

    _sweep(str(spec), str(config), root)
    study = optuna.load_study(study_name='two_trials',
                              storage='sqlite:///' + osp.join(sweep_dir, 'study.db'))
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert sorted(t.params['model.acr_loss.loss_weight'] for t in trials) == [0, 125]
    for t in trials:
        alpha = t.params['model.acr_loss.loss_weight']
        trial_dir = osp.join(sweep_dir, f'trial_{t.number:04d}')
        assert t.user_attrs['work_dir'] == trial_dir
        assert len(_launches(trial_dir)) == 1
        assert f'model.acr_loss.loss_weight={alpha}' in t.user_attrs['command']
        assert 'randomness.seed=0' in t.user_attrs['command']
        metric = read_metric(trial_dir, 'cam/mIoU')
        logged = [json.loads(line) for line in open(_launches(trial_dir)[0])]
        assert metric['count'] == 1
        assert t.value == metric['best'] == [r['cam/mIoU'] for r in logged if 'cam/mIoU' in r][0]
        assert t.intermediate_values == {1: t.value}  # what the pruner would see
        # The swept weight reached the model: only a nonzero one builds the ACR terms.
        acr_logged = any('loss_intensity' in r for r in logged)
        assert acr_logged == (alpha != 0), (t.number, sorted(logged[0]))
        # The trial is a W&B run, offline without a server.
        assert glob.glob(osp.join(trial_dir, '2*', 'vis_data', 'wandb', 'offline-run-*'))

    with open(osp.join(sweep_dir, 'results.md')) as f:
        lines = [ln for ln in f.read().splitlines() if ln.startswith('| ')]
    header, rows = lines[0], lines[1:]
    assert header.startswith('| rank | trial | model.acr_loss.loss_weight | best cam/mIoU')
    values = [float(r.split('|')[4]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert values == [round(v, 2) for v in sorted((t.value for t in trials), reverse=True)]
    assert osp.isfile(osp.join(sweep_dir, 'optimization_history.png'))

    # A rerun continues the finished study: nothing is trained again.
    logs = {t.number: Path(sweep_dir, f'trial_{t.number:04d}', 'trial_output.log').read_text()
            for t in trials}
    proc = _sweep(str(spec), str(config), root)
    assert {n: Path(sweep_dir, f'trial_{n:04d}', 'trial_output.log').read_text()
            for n in logs} == logs
    assert 'joined study "two_trials"' in proc.stdout + proc.stderr
