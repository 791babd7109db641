"""The stage-2 configs (configs/seg): each builds; small variants train and test a step."""
import copy
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmseg.registry import DATASETS, METRICS, MODELS
from PIL import Image

import projects.acr.datasets.pseudo_label_dataset  # noqa: F401
import projects.acr.models.segmentors  # noqa: F401
from projects.acr.datasets import voc_palette
from projects.acr.utils import adapt_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_DIR = osp.join(REPO, 'configs', 'seg')
TOY = 'deeplabv2_r18-d8_1xb8-1k_toy-pseudo-96x96.py'
EXPECTED = {
    'deeplabv2_r101-d8_4xb4-40k_voc-pseudo-512x512.py': ('ASPPSumHead', 21),
    'deeplabv2_r101-d8_4xb4-80k_coco-pseudo-512x512.py': ('ASPPSumHead', 81),
    'deeplabv3plus_r101-d8_4xb4-40k_voc-pseudo-512x512.py': ('DepthwiseSeparableASPPHead', 21),
    'deeplabv3plus_r101-d8_4xb4-80k_coco-pseudo-512x512.py':
    ('DepthwiseSeparableASPPHead', 81),
    'segformer_mit-b2_8xb2-40k_voc-pseudo-512x512.py': ('SegformerHead', 21),
    'segformer_mit-b2_8xb2-80k_coco-pseudo-512x512.py': ('SegformerHead', 81),
    'segformer_mit-b5_8xb2-40k_voc-pseudo-512x512.py': ('SegformerHead', 21),
    'segformer_mit-b5_8xb2-80k_coco-pseudo-512x512.py': ('SegformerHead', 81),
    TOY: ('ASPPSumHead', 6),
}
SPLIT = 'ImageSets/Segmentation/train_aug.txt'
SIZE = 48


@pytest.fixture(scope='module')
def tiny_tree(tmp_path_factory, shared_toy_dataset):
    """Toy tree (4 train, 2 val, 48 px) and a separate dir of palette pseudo-label PNGs.

    The pseudo labels are the real masks with class ids moved by one (k -> k % 5 + 1) and
    a 255 band on the left, so that a label read from the wrong place shows.
    """
    root = tmp_path_factory.mktemp('seg')
    tree = shared_toy_dataset(num_train=4, num_val=2, img_size=SIZE, seed=0)
    pseudo_dir = str(root / 'run' / 'pseudo_labels')
    os.makedirs(pseudo_dir)
    with open(osp.join(tree, SPLIT)) as f:
        ids = f.read().split()
    for img_id in ids:
        real = np.array(Image.open(osp.join(tree, 'SegmentationClassAug', img_id + '.png')))
        label = np.where(real == 255, 0, real % 5 + 1).astype(np.uint8)
        label[:, :3] = 255
        png = Image.fromarray(label, mode='P')
        png.putpalette(sum(voc_palette(256), []))
        png.save(osp.join(pseudo_dir, img_id + '.png'))
    return tree, pseudo_dir


def _load(name):
    return Config.fromfile(osp.join(SEG_DIR, name))


def _without_pretrained(model_cfg):
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.pretrained = None
    model_cfg.backbone.init_cfg = None
    return model_cfg


def _point_at(cfg, tree, pseudo_dir, batch_size=2):
    """Datasets of the config read the tiny tree; loaders run in-process."""
    train = cfg.train_dataloader
    train.dataset.update(data_root=tree, data_prefix=dict(img_path='JPEGImages'),
                         ann_file=SPLIT, pseudo_label_dir=pseudo_dir)
    val = cfg.val_dataloader
    val.dataset.update(
        data_root=tree,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/val.txt')
    for loader in (train, val):
        loader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    cfg.test_dataloader = copy.deepcopy(val)
    return cfg


def _shrink_data(cfg, size=SIZE):
    """Crops of ``size`` px instead of 512 (the real pipelines, smaller numbers)."""
    for step in cfg.train_dataloader.dataset.pipeline + cfg.val_dataloader.dataset.pipeline:
        if step.type in ('RandomResize', 'Resize') and 'scale' in step:
            step.scale = (4 * size, size)
        if step.type == 'RandomCrop':
            step.crop_size = (size, size)
    cfg.model.data_preprocessor.size = (size, size)
    return cfg


def _shrink_model(cfg):
    """A ResNet-18 with 16 base channels or a MiT-B0 in place of the real encoder."""
    model = cfg.model
    head = model.decode_head.type
    if head == 'SegformerHead':
        model.backbone.update(embed_dims=32, num_layers=[2, 2, 2, 2])
        model.decode_head.update(in_channels=[32, 64, 160, 256], channels=32)
    else:
        norm_cfg = dict(type='BN', requires_grad=True)
        model.backbone.update(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg)
        model.decode_head.in_channels = 128
        if head == 'DepthwiseSeparableASPPHead':
            model.decode_head.update(channels=32, c1_in_channels=16, c1_channels=8,
                                     norm_cfg=norm_cfg)
            model.auxiliary_head.update(in_channels=64, channels=16, norm_cfg=norm_cfg)
    return cfg


def test_every_config_is_tested():
    names = sorted(osp.basename(p) for p in glob.glob(osp.join(SEG_DIR, '*.py')))
    assert names == sorted(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_config_builds_and_reads_pseudo_labels_for_training_real_masks_for_eval(
        name, tiny_tree):
    tree, pseudo_dir = tiny_tree
    cfg = _load(name)
    head_type, num_classes = EXPECTED[name]
    assert cfg.default_scope == 'mmseg'
    assert 'projects.acr' in cfg.custom_imports.imports

    model = MODELS.build(_without_pretrained(cfg.model))
    assert type(model.decode_head).__name__ == head_type
    assert model.decode_head.num_classes == num_classes
    if model.with_auxiliary_head:
        assert model.auxiliary_head.num_classes == num_classes

    assert cfg.train_dataloader.dataset.type == 'PseudoLabelSegDataset'
    assert cfg.train_dataloader.dataset.pseudo_label_dir.endswith('pseudo_labels')
    assert len(cfg.train_dataloader.dataset.metainfo.classes) == num_classes
    assert cfg.val_evaluator.type == 'IoUMetric'
    assert cfg.tta_model.type == 'CRFSegTTAModel'
    assert cfg.tta_pipeline[1].type == 'TestTimeAug'

    # The config's own pipelines, on the tiny tree: labels from the pseudo dir in training,
    # the real masks (untouched) in evaluation.
    _point_at(cfg, tree, pseudo_dir)
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    item = train_set[0]
    pseudo = np.array(Image.open(train_set.get_data_info(0)['seg_map_path']))
    gt = item['data_samples'].gt_sem_seg.data.numpy()
    assert set(np.unique(gt)) <= set(np.unique(pseudo))
    assert train_set.get_data_info(0)['seg_map_path'].startswith(pseudo_dir)
    assert train_set.get_data_info(0)['img_path'].startswith(osp.join(tree, 'JPEGImages'))

    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    info = val_set.get_data_info(0)
    assert info['seg_map_path'].startswith(osp.join(tree, 'SegmentationClassAug'))
    real = np.array(Image.open(info['seg_map_path']))
    np.testing.assert_array_equal(val_set[0]['data_samples'].gt_sem_seg.data[0].numpy(), real)


@pytest.mark.parametrize('name', [
    TOY,
    'deeplabv2_r101-d8_4xb4-80k_coco-pseudo-512x512.py',
    'deeplabv3plus_r101-d8_4xb4-40k_voc-pseudo-512x512.py',
    'segformer_mit-b2_8xb2-40k_voc-pseudo-512x512.py',
])
def test_one_training_step_and_one_test_step(name, tiny_tree):
    tree, pseudo_dir = tiny_tree
    cfg = _point_at(_load(name), tree, pseudo_dir)
    if name != TOY:
        _shrink_model(_shrink_data(cfg))
    torch.manual_seed(0)
    model = MODELS.build(_without_pretrained(cfg.model))
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}

    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    losses = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    assert any(not torch.equal(before[k], v) for k, v in model.named_parameters())

    val_loader = Runner.build_dataloader(cfg.val_dataloader)
    evaluator = Evaluator(METRICS.build(cfg.val_evaluator))
    evaluator.dataset_meta = val_loader.dataset.metainfo
    model.eval()
    num_classes = len(val_loader.dataset.metainfo['classes'])
    confusion = np.zeros((num_classes, num_classes), np.int64)
    for batch in val_loader:
        outputs = model.val_step(batch)
        assert outputs[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
        for out in outputs:
            pred = out.pred_sem_seg.data.cpu().numpy().ravel()
            gt = out.gt_sem_seg.data.cpu().numpy().ravel()
            keep = gt != 255
            confusion += np.bincount(gt[keep] * num_classes + pred[keep],
                                     minlength=num_classes**2).reshape(num_classes, -1)
        evaluator.process(outputs, batch)
    result = evaluator.evaluate(len(val_loader.dataset))
    # The configured metric scores the predictions against the real masks.
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    with np.errstate(invalid='ignore', divide='ignore'):
        want = 100 * np.nanmean(np.diag(confusion) / union)
    assert result['mIoU'] == pytest.approx(want, abs=0.01)


def _toy_runner_cfg(tree, pseudo_dir, work_dir):
    cfg = _point_at(_load(TOY), tree, pseudo_dir)
    cfg.work_dir = str(work_dir)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return adapt_config(cfg)


def test_toy_multi_scale_flip_and_crf_testing_through_the_runner(tiny_tree, tmp_path):
    pytest.importorskip('pydensecrf.densecrf')
    tree, pseudo_dir = tiny_tree
    cfg = _toy_runner_cfg(tree, pseudo_dir, tmp_path)
    # What mmseg's test script does for --tta.
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.update(module=cfg.model, dense_crf=True)
    cfg.model = cfg.tta_model
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    # The reported figure is the mIoU of the merged, CRF-refined predictions.
    num_classes = len(runner.test_dataloader.dataset.metainfo['classes'])
    confusion = np.zeros((num_classes, num_classes), np.int64)
    for batch in runner.test_dataloader:
        with torch.no_grad():
            outputs = runner.model.test_step(batch)
        for out in outputs:
            pred = out.pred_sem_seg.data.cpu().numpy().ravel()
            gt = out.gt_sem_seg.data.cpu().numpy().ravel()
            assert pred.shape == gt.shape
            keep = gt != 255
            confusion += np.bincount(gt[keep] * num_classes + pred[keep],
                                     minlength=num_classes**2).reshape(num_classes, -1)
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    with np.errstate(invalid='ignore', divide='ignore'):
        want = 100 * np.nanmean(np.diag(confusion) / union)
    assert metrics['mIoU'] == pytest.approx(want, abs=0.01)


@pytest.mark.slow
def test_tools_train_runs_the_toy_config(tiny_tree, tmp_path):
    tree, pseudo_dir = tiny_tree
    env = dict(os.environ, WANDB_MODE='disabled', OMP_NUM_THREADS='1')
    cmd = [
        sys.executable, osp.join(REPO, 'tools', 'train.py'), osp.join(SEG_DIR, TOY),
        '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
        f'train_dataloader.dataset.data_root={tree}', 'train_dataloader.batch_size=2',
        f'train_dataloader.dataset.pseudo_label_dir={pseudo_dir}',
        f'val_dataloader.dataset.data_root={tree}'
    ]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_2.pth')
    assert 'mIoU' in done.stdout + done.stderr
