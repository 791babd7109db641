"""The published stage-1 configs carry the settings the official ACR runs used
(train_acr.sh / train_acr_coco.sh, infer_cam.py, evaluation.py); see the table in
docs/fidelity.md."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmseg.registry import METRICS, TRANSFORMS

ROOT = osp.join(osp.dirname(__file__), '..', '..')
VOC = ['vit_voc', 'vit-r50_voc', 'deit_voc', 'deit-distilled_voc']
COCO = ['vit_coco', 'vit-r50_coco', 'deit_coco']
ARCH = {
    'vit_voc': 'vit_base_patch16_384.orig_in21k_ft_in1k',
    'vit-r50_voc': 'vit_base_r50_s16_384.orig_in21k_ft_in1k',
    'deit_voc': 'deit_base_patch16_384.fb_in1k',
    'deit-distilled_voc': 'deit_base_distilled_patch16_384.fb_in1k',
    'vit_coco': 'vit_base_patch16_384.orig_in21k_ft_in1k',
    'vit-r50_coco': 'vit_base_r50_s16_384.orig_in21k_ft_in1k',
    'deit_coco': 'deit_base_patch16_384.fb_in1k',
}


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs', 'acr', f'{name}.py'))


@pytest.mark.parametrize('name', VOC + COCO)
def test_model_and_maps_as_the_official_run(name):
    cfg = _cfg(name)
    model = cfg.model
    assert model.backbone.arch == ARCH[name]  # timm 0.4.5's default weights, by tag
    assert model.backbone.drop_path_rate == 0.0
    assert model.backbone.final_norm is False  # pre-norm class token
    assert model.head.getam_mode == 'grad' and model.head.start_layer == 10
    assert model.head.get('loss_weight', 1.0) == 1.0
    assert model.acr_loss.loss_weight == (125.0 if name in VOC else 100.0)
    assert model.acr_loss.get('layers') is None  # every block
    test_cfg = model.test_cfg
    assert test_cfg.refine and test_cfg.flip and tuple(test_cfg.scales) == (1.0, )
    assert test_cfg.use_gt_labels and test_cfg.align_corners and test_cfg.norm_eps == 1e-6
    assert model.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert model.data_preprocessor.std == [58.395, 57.12, 57.375]


@pytest.mark.parametrize('name', VOC + COCO)
def test_schedule_as_the_official_run(name):
    cfg = _cfg(name)
    opt = cfg.optim_wrapper.optimizer
    # SGD(params, lr, weight_decay) where SGD's third argument is momentum.
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.05, 5e-4, 0.0)
    (poly, ) = cfg.param_scheduler
    assert poly.type == 'PolyLR' and poly.power == 0.9 and poly.eta_min == 0.0
    assert cfg.train_cfg.max_epochs == (10 if name in VOC else 5) == poly.end
    assert cfg.train_dataloader.batch_size == 1  # x 4 GPUs
    assert cfg.auto_scale_lr.base_batch_size == 4
    # The last checkpoint is the reported one: no selection on the masks.
    assert cfg.default_hooks.checkpoint.get('save_best') is None


@pytest.mark.parametrize('name', VOC + COCO)
def test_pipelines_as_the_official_run(name):
    cfg = _cfg(name)
    train = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert train == ['LoadCheckedImageFromFile', 'RandomResize', 'RandomFlip', 'RandomCropPad',
                     'PairedViews', 'PackClsInputs']
    resize, _, crop, views, _ = cfg.train_dataloader.dataset.pipeline[1:]
    assert tuple(resize.scale) == (384, 384) and tuple(resize.ratio_range) == (0.9, 1.14)
    assert tuple(crop.crop_size) == (384, 384) and views.flip is True
    test = cfg.test_dataloader.dataset.pipeline
    resize = [t for t in test if t.type == 'ResizeImageOnly']
    assert len(resize) == 1 and tuple(resize[0].scale) == (384, 384)
    # Padding is the mean pixel (0 after normalisation), in the loaded BGR order.
    assert tuple(crop.pad_val) == tuple(cfg.model.data_preprocessor.mean[::-1])


def test_cam_metric_sweeps_the_official_grid():
    cfg = _cfg('vit-r50_voc')
    metric = METRICS.build(cfg.val_evaluator)
    np.testing.assert_allclose(metric.thresholds, np.arange(60) / 100, atol=1e-12)
    assert metric.fixed_threshold == 0.5


def test_transforms_are_registered():
    assert TRANSFORMS.get('RandomCropPad') is not None
    assert TRANSFORMS.get('ResizeImageOnly') is not None
