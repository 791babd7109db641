"""Every ToCo config parses and builds; the toy recipe trains a few iterations end to end.

The published ToCo configs train with their own pipelines in ``tests/published``."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'toco', '*.py')))
PUBLISHED = [p for p in CONFIGS if '_toy' not in p]
# Millions of parameters: the 86M ViT-B / DeiT-B encoder, two 768 x C classifiers, the
# LargeFOV decoder (5.9M) and the projection head with its teacher copy (2 x 6.6M).
PARAMS_M = {'voc': 105.0, 'coco': 105.1}


def config_id(path):
    return osp.splitext(osp.basename(path))[0]


def test_published_configs_exist():
    names = {config_id(p) for p in CONFIGS}
    assert names >= {'deit-b_voc', 'vit-b_voc', 'deit-b_coco', 'vit-b_coco', 'deit-b_voc_acr',
                     'vit-b_voc_acr', 'deit-b_coco_acr', 'vit-b_coco_acr', 'vit-tiny_toy',
                     'vit-tiny_toy_acr'}


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_builds_model_and_pipelines(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.pretrained = False
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert (model.acr_loss is not None) == config_id(path).endswith('_acr')
    if path in PUBLISHED:
        data = 'coco' if '_coco' in path else 'voc'
        num = sum(p.numel() for p in model.parameters()) / 1e6
        assert num == pytest.approx(PARAMS_M[data], abs=0.5)
        assert model.backbone.aux_layer == 9  # -3 of 12 blocks on VOC, 9 on COCO
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[name].dataset
        assert model.num_classes == len(DATASETS.get(ds.type).METAINFO['classes']) - 1
        kinds = [type(t).__name__ for t in Compose(ds.pipeline).transforms]
        if name == 'train_dataloader':
            assert 'ToCoViews' in kinds
        else:
            assert not [k for k in kinds if k.startswith('Random') or k == 'ToCoViews']


def _train(config, work_dir):
    env = dict(os.environ, WANDB_MODE='offline', OMP_NUM_THREADS='1')
    run = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
                          '--work-dir', work_dir], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=900)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    return out


TOY = """_base_ = {base!r}
data_root = {data_root!r}
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(train_cfg=dict(stages=[dict(begin=0, seg=0.0, energy=0.0), dict(begin=3)]))
train_cfg = dict(max_iters=6, val_interval=6)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=6))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
"""


@pytest.mark.slow
@pytest.mark.parametrize('name', ['vit-tiny_toy', 'vit-tiny_toy_acr'])
def test_toy_recipe_trains_end_to_end(name, tmp_path, shared_toy_dataset):
    data_root = shared_toy_dataset(num_train=16, num_val=4, img_size=96, seed=0)
    config = tmp_path / f'{name}.py'
    config.write_text(TOY.format(base=osp.join(REPO, 'configs', 'toco', name + '.py'),
                                 data_root=data_root))
    out = _train(str(config), str(tmp_path / 'work'))
    lines = [ln for ln in out.splitlines() if 'Iter(train)' in ln]
    assert len(lines) == 6
    assert 'loss_energy' not in lines[1] and 'loss_energy' in lines[4]
    assert 'cam/mIoU' in out
    ckpt = torch.load(tmp_path / 'work' / 'iter_6.pth', map_location='cpu', weights_only=False)
    assert int(ckpt['state_dict']['train_iter']) == 6
