# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Every stage-1 config parses, builds its model and its data pipelines."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'acr')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# Millions of parameters of the published backbones plus the 768 x C classifier (timm's
# final norm is kept, unused): ViT-B/16 86M, R50+ViT-B/16 98M.
PARAMS_M = {'vit_voc': 86.1, 'vit-r50_voc': 98.2, 'deit_voc': 86.1, 'vit_coco': 86.1,
            'vit-r50_coco': 98.2, 'deit_coco': 86.1, 'deit-distilled_voc': 86.1}


@pytest.fixture(autouse=True)
def single_thread():
    """Runs on one thread: these tiny ops gain nothing from more, and the hybrid's
    ~400 small ResNet ops slow down tenfold when threads wait for busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config_id(path):
    return osp.splitext(osp.basename(path))[0]


def load(path):
    cfg = Config.fromfile(path)
    # Weights are never downloaded in tests.
    cfg.model.backbone.pretrained = False
    cfg.model.backbone.checkpoint = None
    return cfg


def test_published_configs_exist():
    names = {config_id(p) for p in CONFIGS}
    assert names >= {'vit_voc', 'vit-r50_voc', 'deit_voc', 'deit-distilled_voc', 'vit_coco',
                     'vit-r50_coco', 'deit_coco'}


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_builds_model_and_pipelines(path):
    cfg = load(path)
    assert cfg.default_scope == 'mmseg'
    # Class maps must not depend on chance: the evaluation pipelines hold no random
    # augmentation (the CAM evaluation and the pseudo labels read them).
    for name in [n for n in ('val_dataloader', 'test_dataloader') if cfg.get(n)]:
        kinds = [t['type'] for t in cfg[name].dataset.pipeline]
        assert not [k for k in kinds if k.startswith('Random') or k == 'PairedViews'], kinds

    # On the meta device the full-size model is built without paying for the random
    # initialisation of ~100M weights; the structure and every shape are real.
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert model.backbone.arch == cfg.model.backbone.arch
    assert model.head.fc.in_features == model.backbone.embed_dim
    if config_id(path) in PARAMS_M:
        num_params = sum(p.numel() for p in model.parameters()) / 1e6
        assert num_params == pytest.approx(PARAMS_M[config_id(path)], abs=0.5)

    for name in LOADERS:
        dataset_cfg = cfg[name].dataset
        dataset_cls = DATASETS.get(dataset_cfg.type)
        assert dataset_cls is not None, f'{name}: unknown dataset {dataset_cfg.type}'
        # The head classifies the foreground classes of the dataset it is trained on.
        assert model.head.num_classes == len(dataset_cls.METAINFO['classes']) - 1
        pipeline = Compose(dataset_cfg.pipeline)
        types = [type(t).__name__ for t in pipeline.transforms]
        assert types[0] == 'LoadCheckedImageFromFile'
        # Only training may skip unreadable images; evaluation must see every one.
        on_error = pipeline.transforms[0].on_error
        assert on_error == ('skip' if name == 'train_dataloader' else 'raise')
        if name != 'train_dataloader':
            assert types[1] == 'LoadCheckedAnnotations'

    # The learning-rate schedule spans the whole run.
    max_epochs = cfg.train_cfg.max_epochs
    assert all(s.get('end', max_epochs) == max_epochs for s in cfg.param_scheduler
               if s['type'] == 'PolyLR')


def _sample(num_classes, shape):
    labels = np.zeros(num_classes, np.float32)
    labels[[0, num_classes - 1]] = 1
    sample = SegDataSample()
    sample.set_metainfo(dict(img_labels=labels, view_flip=True, img_shape=shape,
                             ori_shape=shape))
    return sample


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_model_trains_and_predicts_when_shallow(path):
    """The configured backbone with 2 narrow blocks: loss on a view pair, class maps."""
    torch.manual_seed(0)
    cfg = load(path)
    cfg.model.backbone.timm_kwargs = dict(cfg.model.backbone.get('timm_kwargs') or {},
                                          depth=2, embed_dim=48, num_heads=3)
    cfg.model.head.start_layer = 1
    cfg.model.test_cfg = dict(flip=True, scales=(1.0, ))
    model = MODELS.build(cfg.model)
    num_classes = model.head.num_classes
    size = 32  # a 2 x 2 patch grid at stride 16 keeps the hybrid's ResNet cheap
    assert size % model.backbone.patch_size == 0
    img = torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
    data = dict(inputs=[torch.stack([img, img.flip(-1)])],
                data_samples=[_sample(num_classes, (size, size))])
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_intensity', 'loss_affinity'}
    assert all(torch.isfinite(v) for v in losses.values())

    model.eval()
    shape = (size - 3, size)
    data = dict(inputs=[img[:, :shape[0]]], data_samples=[_sample(num_classes, shape)])
    with torch.no_grad():
        cams = model.test_step(data)[0].pred_cams
    assert cams.shape == (num_classes, ) + shape
    assert cams[1:-1].abs().sum() == 0
    # The two present classes get maps of their own, not a constant or a shared one.
    assert cams[0].std() > 0 and (cams[0] - cams[-1]).abs().max() > 1e-3
