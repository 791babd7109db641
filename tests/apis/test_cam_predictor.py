import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

import projects.acr  # noqa: F401  (registers the components)
from projects.acr.apis import (CAMInferencer, CAMPredictor, ImageCAMInferencer, build_split_dataset,
                               init_cam_model, override_test_cfg, pipeline_image_loader)
from projects.acr.datasets import TOY_CLASSES, TOY_PALETTE
from projects.acr.pseudo_labels import cam_path, load_cams
from projects.acr.visualization.cam_overlay import render_cam_overlay

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'acr', 'vit-tiny_toy.py')
# The ViT sees 40 x 56 (as the published test pipelines squash images to the crop size);
# the maps and the masks stay at the original 48 x 48.
RESIZE = (40, 56)


def small_cfg(root, resize=None):
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.merge_from_dict({
        'model.backbone.timm_kwargs.img_size': 48,
        'model.backbone.timm_kwargs.depth': 2,
        'model.head.start_layer': 1,
        'model.test_cfg.scales': (1.0, ),
        'test_dataloader.dataset.data_root': root,
    })
    if resize:
        pipeline = cfg.test_dataloader.dataset.pipeline
        pipeline.insert(len(pipeline) - 1, dict(type='ResizeImageOnly', scale=resize))
    return cfg


@pytest.fixture(scope='module')
def toy(tmp_path_factory, shared_toy_dataset):
    base = tmp_path_factory.mktemp('predictor')
    root = shared_toy_dataset(num_train=2, num_val=3, img_size=48, seed=0)
    cfg = small_cfg(root, RESIZE)
    torch.manual_seed(0)
    init_default_scope('mmseg')
    ckpt = str(base / 'model.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, ckpt)
    model = init_cam_model(cfg, ckpt)
    dataset = build_split_dataset(cfg, split='val')
    return dict(root=root, cfg=cfg, ckpt=ckpt, model=model, dataset=dataset)


def rgb_of(path):
    return np.asarray(Image.open(path).convert('RGB'))


def test_resized_input_gives_maps_and_image_at_the_original_size(toy):
    dataset = toy['dataset']
    predictor = CAMPredictor(toy['model'], TOY_CLASSES, pipeline_image_loader(dataset.pipeline))
    data = dataset[0]
    assert tuple(data['inputs'].shape[1:]) == RESIZE
    pred = predictor.predict(data)
    info = dataset.get_data_info(0)
    np.testing.assert_array_equal(pred.image, rgb_of(info['img_path']))
    assert pred.cams.shape == (len(pred.class_ids), 48, 48)
    np.testing.assert_array_equal(pred.class_ids, np.flatnonzero(info['img_labels']))
    assert pred.class_names == [TOY_CLASSES[i + 1] for i in pred.class_ids]
    assert pred.gt_mask is None and pred.img_path == info['img_path']  # no mask loader here
    # The record holds the model's own prediction.
    with torch.no_grad():
        out = toy['model'].test_step(dict(inputs=[data['inputs']],
                                          data_samples=[data['data_samples']]))[0]
    np.testing.assert_allclose(pred.dense_cams(), out.pred_cams.numpy(), atol=1e-6)
    np.testing.assert_allclose(pred.scores, out.pred_scores.numpy(), rtol=1e-6)


def test_untouched_input_is_the_image_itself_and_a_lost_original_is_an_error(toy):
    cfg = small_cfg(toy['root'])
    dataset = build_split_dataset(cfg, split='val')
    data = dataset[1]
    assert data['inputs'].dtype == torch.uint8
    predictor = CAMPredictor(toy['model'], TOY_CLASSES)  # no loader needed
    image = predictor.original_image(data['inputs'], data['data_samples'])
    np.testing.assert_array_equal(image, data['inputs'].permute(1, 2, 0).numpy()[..., ::-1])
    resized = toy['dataset'][1]
    with pytest.raises(ValueError, match='no image loader'):
        predictor.original_image(resized['inputs'], resized['data_samples'])


def test_split_overlays_are_drawn_on_the_original_image(toy, tmp_path):
    dataset = toy['dataset']
    inferencer = CAMInferencer(toy['model'], str(tmp_path / 'cams'),
                               overlay_dir=str(tmp_path / 'vis'), class_names=TOY_CLASSES,
                               palette=TOY_PALETTE, progress=False)
    assert len(inferencer.run(dataset).done) == len(dataset)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        stored = load_cams(cam_path(str(tmp_path / 'cams'), info['img_id']))
        picture = rgb_of(osp.join(tmp_path, 'vis', info['img_id'] + '.png'))
        assert picture.shape == (48, 48, 3)
        want = render_cam_overlay(rgb_of(info['img_path']),
                                  stored['cams'].astype(np.float32), stored['class_ids'],
                                  TOY_PALETTE, TOY_CLASSES, 'argmax')
        # The file was drawn from the float32 maps, the reference from their float16 copy.
        np.testing.assert_allclose(picture.astype(int), want.astype(int), atol=3)


def test_both_inferencers_give_the_same_record(toy, tmp_path):
    dataset = toy['dataset']
    images = ImageCAMInferencer(toy['cfg'], toy['ckpt'])
    split = CAMPredictor(toy['model'], TOY_CLASSES, pipeline_image_loader(dataset.pipeline))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        names = [TOY_CLASSES[c + 1] for c in np.flatnonzero(info['img_labels'])]
        a = images(info['img_path'], classes=names, progress=False)[0]
        b = split.predict(dataset[i])
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.class_ids, b.class_ids)
        assert a.class_names == b.class_names
        np.testing.assert_allclose(a.cams, b.cams, atol=1e-6)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)


def test_settings_apply_for_the_block_only_and_unknown_keys_are_errors(toy):
    model = toy['model']
    before = dict(model.test_cfg)
    with override_test_cfg(model, flip=not before['flip'], scales=None) as cfg:
        assert cfg['flip'] is (not before['flip']) and cfg['scales'] == before['scales']
    assert model.test_cfg == before
    with pytest.raises(RuntimeError):
        with override_test_cfg(model, refine=not before['refine']):
            raise RuntimeError('interrupted')
    assert model.test_cfg == before
    with pytest.raises(KeyError, match='flipp'):
        with override_test_cfg(model, flipp=True):
            pass
