import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from projects.acr.evaluation import miou_from_confusion, sweep_confusion
from projects.acr.pseudo_labels import PseudoLabelGenerator

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.fixture(scope='module')
def toy_root(shared_toy_dataset):
    return shared_toy_dataset(num_train=6, num_val=2, img_size=48, seed=0)


def _runner(toy_root, work_dir, hook, test_resize=None):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/acr/vit-tiny_toy.py'))
    if test_resize:  # as the published test pipelines: the ViT sees a squashed image
        for loader in ('val_dataloader', 'test_dataloader'):
            pipeline = cfg[loader].dataset.pipeline
            pipeline.insert(len(pipeline) - 1, dict(type='ResizeImageOnly', scale=test_resize))
    cfg.model.backbone.timm_kwargs = dict(img_size=48, patch_size=8, depth=2)
    cfg.model.head.start_layer = 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = toy_root
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] in ('RandomResize', ):
            t['scale'] = (48, 48)
        if t['type'] in ('RandomCrop', 'Pad'):
            t[('crop_size' if t['type'] == 'RandomCrop' else 'size')] = (48, 48)
    cfg.train_dataloader.batch_size = 3
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=100)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.custom_hooks = [hook]
    cfg.work_dir = work_dir
    return Runner.from_cfg(cfg)


@pytest.mark.slow  # trains for an epoch
def test_logs_cam_and_pseudo_label_quality_equal_to_a_plain_computation(toy_root, tmp_path):
    runner = _runner(toy_root, str(tmp_path),
                     dict(type='CAMQualityHook', num_images=4, batch_size=3, num_overlays=2))
    runner.train()
    hook = [h for h in runner.hooks if type(h).__name__ == 'CAMQualityHook'][0]
    scalars = runner.visualizer.get_backend('LocalVisBackend')
    lines = [json.loads(x) for x in open(scalars._scalar_save_file)]
    logged = [x for x in lines if 'cam_quality/cam_mIoU' in x]
    assert len(logged) == 1 and logged[0]['step'] == 1

    # The same figures computed plainly, image by image, from the trained model.
    model = runner.model.eval()
    thresholds = hook.thresholds
    conf = 0
    pseudo = np.zeros((6, 6), np.int64)
    gen = PseudoLabelGenerator(mode='power', crf=False)
    for j in hook._indices:
        data = hook._dataset[j]
        out = model.test_step(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))[0]
        cams = out.pred_cams.numpy()
        gt = out.gt_sem_seg.data[0].numpy()
        conf = conf + sweep_confusion(cams, gt, thresholds)
        image = data['inputs'].permute(1, 2, 0).numpy()[..., ::-1]
        label = gen.from_dense(cams, np.ascontiguousarray(image), np.asarray(out.img_labels))
        for g, p in zip(gt.ravel(), label.ravel()):
            if g != 255 and p != 255:
                pseudo[g, p] += 1
    miou = miou_from_confusion(conf)
    assert logged[0]['cam_quality/cam_mIoU'] == pytest.approx(float(np.nanmax(miou) * 100),
                                                              abs=1e-6)
    assert logged[0]['cam_quality/pseudo_mIoU'] == pytest.approx(
        float(miou_from_confusion(pseudo) * 100), abs=1e-6)
    images = osp.join(runner._log_dir, 'vis_data', 'vis_image')
    assert sorted(os.listdir(images)) == ['cam_quality_overlay_0_1.png',
                                          'cam_quality_overlay_1_1.png']


@pytest.mark.slow  # trains for an epoch
def test_overlays_are_drawn_on_the_original_image_when_the_pipeline_resizes(
        toy_root, tmp_path):
    from PIL import Image
    runner = _runner(toy_root, str(tmp_path),
                     dict(type='CAMQualityHook', num_images=3, batch_size=1, num_overlays=2,
                          pseudo_label_cfg=dict(crf=True)),
                     test_resize=(40, 56))
    runner.train()
    hook = [h for h in runner.hooks if type(h).__name__ == 'CAMQualityHook'][0]
    assert any(type(t).__name__ == 'ResizeImageOnly' for t in hook._dataset.pipeline.transforms)
    images = osp.join(runner._log_dir, 'vis_data', 'vis_image')
    for i in range(2):
        picture = np.asarray(Image.open(osp.join(images, f'cam_quality_overlay_{i}_1.png')))
        # image | maps | pseudo label | mask, each at the original 48 x 48
        assert picture.shape == (48, 4 * 48, 3)
        info = hook._dataset.get_data_info(hook._indices[i])
        original = np.asarray(Image.open(info['img_path']).convert('RGB'))
        np.testing.assert_array_equal(picture[:, :48], original)


def test_rejects_bad_arguments():
    from projects.acr.engine.hooks import CAMQualityHook
    with pytest.raises(ValueError, match='num_images'):
        CAMQualityHook(num_images=0)


def test_pseudo_label_settings_override_the_defaults():
    from projects.acr.engine.hooks import CAMQualityHook
    hook = CAMQualityHook(pseudo_label_cfg=dict(mode='threshold', bg_thr=(0.5, 0.75)))
    assert hook.pseudo_label_cfg == dict(mode='threshold', crf=False, bg_thr=(0.5, 0.75))
    assert hook.generator.mode == 'threshold'


@pytest.mark.slow  # trains for an epoch
def test_diagnostics_match_plain_computations(toy_root, tmp_path):
    import torch

    from projects.acr.models.losses import ACRLoss
    from projects.acr.models.utils import view_token_index

    runner = _runner(toy_root, str(tmp_path),
                     dict(type='CAMQualityHook', num_images=3, batch_size=3, num_overlays=0,
                          diagnostics=True))
    runner.train()
    hook = [h for h in runner.hooks if type(h).__name__ == 'CAMQualityHook'][0]
    scalars = runner.visualizer.get_backend('LocalVisBackend')
    logged = [json.loads(x) for x in open(scalars._scalar_save_file)]
    logged = [x for x in logged if 'cam_quality/flip_l1' in x][0]
    model = runner.model.eval()
    assert model.test_cfg['refine'] is False and model.test_cfg['flip'] is True  # restored
    assert logged['cam_quality/cam_mIoU_unrefined'] == logged['cam_quality/cam_mIoU']

    data = [hook._dataset[j] for j in hook._indices]
    refined = model.test_cfg['refine']
    model.test_cfg.update(flip=False)
    try:
        flip_l1 = []
        for d in data:
            sample = d['data_samples']
            plain = model.test_step(dict(inputs=[d['inputs']],
                                         data_samples=[sample.clone()]))[0].pred_cams
            mirror = model.test_step(dict(inputs=[d['inputs'].flip(-1)],
                                          data_samples=[sample.clone()]))[0].pred_cams
            present = np.flatnonzero(np.asarray(sample.img_labels) > 0)
            flip_l1.append(float((plain[present] - mirror[present].flip(-1)).abs().mean()))
        model.test_cfg.update(flip=True, refine=not refined)
        conf = 0
        for d in data:
            out = model.test_step(dict(inputs=[d['inputs']],
                                       data_samples=[d['data_samples'].clone()]))[0]
            conf = conf + sweep_confusion(out.pred_cams.numpy(),
                                          out.gt_sem_seg.data[0].numpy(), hook.thresholds)
    finally:
        model.test_cfg.update(flip=True, refine=refined)
    assert logged['cam_quality/flip_l1'] == pytest.approx(np.mean(flip_l1), rel=1e-4)
    assert logged['cam_quality/cam_mIoU_refined'] == pytest.approx(
        float(np.nanmax(miou_from_confusion(conf)) * 100), abs=1e-6)
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=[d['inputs'] for d in data],
                                         data_samples=[d['data_samples'] for d in data]),
                                    False)['inputs']
        out = model.backbone(torch.cat([x, x.flip(-1)]))
        attn = out.mean_attns()
        index = view_token_index([True] * 3, out.grid)
        terms = ACRLoss(loss_weight=1.0)(attn[:3], attn[3:], index, 1)
    assert logged['cam_quality/attn_intensity_l1'] == pytest.approx(
        float(terms['loss_intensity']), rel=1e-4)
    assert logged['cam_quality/attn_affinity_l1'] == pytest.approx(
        float(terms['loss_affinity']), rel=1e-4)
