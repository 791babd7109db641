import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

import projects.acr  # noqa: F401  (registers the components)
from projects.acr.apis import (CAMInferencer, build_split_dataset, check_run_settings,
                               init_cam_model, shard_indices, split_items)
from projects.acr.datasets import TOY_CLASSES as CLASSES
from projects.acr.datasets import read_label_mask
from projects.acr.evaluation import CAMFileEvaluator, CAMMetric
from projects.acr.pseudo_labels import cam_path, load_cams

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'acr', 'vit-tiny_toy.py')
# A two-block ViT on 48 px images, refining the maps with the attention affinity.
SMALL = {
    'model.backbone.timm_kwargs.img_size': 48,
    'model.backbone.timm_kwargs.depth': 2,
    'model.head.start_layer': 1,
    'model.test_cfg.refine': True,
    'model.test_cfg.scales': (1.0, ),
}


def toy_cfg(root):
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.merge_from_dict(dict(SMALL, **{'test_dataloader.dataset.data_root': root}))
    return cfg


@pytest.fixture(scope='module')
def toy(tmp_path_factory, shared_toy_dataset):
    """A tiny toy tree, its config and a random-weight checkpoint of the small model."""
    base = tmp_path_factory.mktemp('toy')
    root = shared_toy_dataset(num_train=4, num_val=4, img_size=48, seed=0)
    cfg = toy_cfg(root)
    torch.manual_seed(0)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    ckpt = str(base / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return dict(root=root, cfg=cfg, ckpt=ckpt)


def make_inferencer(toy, out_dir, test_cfg=None, **kwargs):
    model = init_cam_model(toy['cfg'], toy['ckpt'], 'cpu', test_cfg)
    return CAMInferencer(model, str(out_dir), progress=False, **kwargs)


def val_dataset(toy, split='val', data_root=None):
    return build_split_dataset(toy['cfg'], split=split, data_root=data_root)


def test_writes_one_file_per_image_with_model_maps(toy, tmp_path):
    dataset = val_dataset(toy)
    inferencer = make_inferencer(toy, tmp_path / 'cams')
    summary = inferencer.run(dataset)
    ids = [img_id for img_id, _ in split_items(dataset)]
    assert sorted(summary.done) == sorted(ids) and not summary.existing and not summary.failed
    metric = CAMMetric(class_names=CLASSES)
    for index, img_id in enumerate(ids):
        path = cam_path(str(tmp_path / 'cams'), img_id)
        with np.load(path) as raw:
            assert set(raw.files) == {'cams', 'class_ids', 'scores'}
            assert raw['cams'].dtype == np.float16
        stored = load_cams(path)
        labels = dataset.get_data_info(index)['img_labels']
        np.testing.assert_array_equal(stored['class_ids'], np.flatnonzero(labels))
        assert stored['cams'].shape == (len(stored['class_ids']), 48, 48)
        assert stored['scores'].shape == (5, )
        assert stored['cams'].min() >= 0 and stored['cams'].max() <= 1
        # The stored maps are the model's own prediction of the image.
        data = dataset[index]
        with torch.no_grad():
            pred = inferencer.model.test_step(
                dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))[0]
        want = pred.pred_cams[torch.from_numpy(stored['class_ids'])].numpy()
        np.testing.assert_allclose(stored['cams'], want, atol=1e-3)
        np.testing.assert_allclose(stored['scores'], pred.pred_scores.numpy(), rtol=1e-6)
        gt = read_label_mask(dataset.get_data_info(index)['seg_map_path'])
        metric.process(None, [dict(pred_cams=pred.pred_cams, gt_sem_seg=gt)])
    # Evaluating the files agrees with the in-training metric on the model's outputs.
    online = metric.compute_metrics(metric.results)
    offline = CAMFileEvaluator(CLASSES).evaluate(str(tmp_path / 'cams'), split_items(dataset),
                                                 progress=False)
    assert offline.miou * 100 == pytest.approx(online['mIoU'], abs=0.5)


def test_resume_recomputes_only_missing_files(toy, tmp_path):
    dataset = val_dataset(toy)
    out = str(tmp_path / 'cams')
    make_inferencer(toy, out).run(dataset)
    ids = [img_id for img_id, _ in split_items(dataset)]
    old_time = 1_000_000_000
    for img_id in ids:
        os.utime(cam_path(out, img_id), (old_time, old_time))
    victim = ids[2]
    before = load_cams(cam_path(out, victim))
    os.remove(cam_path(out, victim))

    summary = make_inferencer(toy, out).run(dataset)
    assert summary.done == [victim]
    assert sorted(summary.existing) == sorted(set(ids) - {victim})
    for img_id in ids:
        mtime = os.stat(cam_path(out, img_id)).st_mtime
        assert (mtime != old_time) == (img_id == victim)
    after = load_cams(cam_path(out, victim))
    for key in ('cams', 'class_ids', 'scores'):
        np.testing.assert_array_equal(after[key], before[key])
    # Nothing left to do.
    assert make_inferencer(toy, out).run(dataset).done == []


def test_multi_scale_and_flip_settings(toy, tmp_path):
    dataset = val_dataset(toy)
    single = make_inferencer(toy, tmp_path / 'single')
    multi = make_inferencer(toy, tmp_path / 'multi', dict(scales=(1.0, 0.5, 1.5), flip=False))
    assert multi.model.test_cfg['scales'] == (1.0, 0.5, 1.5)
    assert not multi.model.test_cfg['flip']
    single.run(dataset)
    assert len(multi.run(dataset).done) == len(dataset)
    img_id = dataset.get_data_info(0)['img_id']
    a = load_cams(cam_path(str(tmp_path / 'single'), img_id))
    b = load_cams(cam_path(str(tmp_path / 'multi'), img_id))
    assert a['cams'].shape == b['cams'].shape
    assert np.abs(a['cams'] - b['cams']).max() > 1e-2


def test_shards_are_disjoint_and_cover_the_split(toy, tmp_path):
    for n, world in ((10, 3), (4, 2), (1, 4)):
        shards = [shard_indices(n, r, world) for r in range(world)]
        flat = sorted(i for s in shards for i in s)
        assert flat == list(range(n))
    dataset = val_dataset(toy)
    out = str(tmp_path / 'cams')
    done = [make_inferencer(toy, out).run(dataset, shard_indices(len(dataset), r, 2)).done
            for r in range(2)]
    assert not set(done[0]) & set(done[1])
    assert sorted(done[0] + done[1]) == sorted(i for i, _ in split_items(dataset))


def test_train_split_and_missing_split(toy):
    train = val_dataset(toy, split='train')
    assert len(train) == 4
    assert train.get_data_info(0)['img_id'].startswith('toy_train_')
    # Inference loads no masks (the config's test pipeline does).
    assert any('Annotations' in t['type'] for t in toy['cfg'].test_dataloader.dataset.pipeline)
    assert 'gt_sem_seg' not in train[0]['data_samples']
    with pytest.raises(FileNotFoundError, match=r'nope\.txt.*train_aug'):
        val_dataset(toy, split='nope')


def test_another_split_is_used_whole_despite_the_test_subset(toy):
    cfg = toy['cfg'].copy()
    cfg.test_dataloader.dataset.indices = 1  # a shortcut of the test list only
    assert len(build_split_dataset(cfg)) == 1
    assert len(build_split_dataset(cfg, split='train')) == 4
    assert len(build_split_dataset(cfg, ann_file='ImageSets/Segmentation/train.txt')) == 4


def test_failing_image_is_skipped_or_raises(toy, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(toy['root'], root)
    dataset = val_dataset(toy, data_root=root)
    broken = dataset.get_data_info(1)
    with open(broken['img_path'], 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(RuntimeError, match=broken['img_id']):
        make_inferencer(toy, tmp_path / 'a').run(dataset)
    summary = make_inferencer(toy, tmp_path / 'b', on_error='skip').run(dataset)
    assert summary.failed == [broken['img_id']] and len(summary.done) == 3
    assert not osp.exists(cam_path(str(tmp_path / 'b'), broken['img_id']))


def test_overlays_and_overlay_only_resume(toy, tmp_path):
    dataset = val_dataset(toy)
    meta = dataset.metainfo
    kwargs = dict(overlay_dir=str(tmp_path / 'vis'), class_names=meta['classes'],
                  palette=meta['palette'])
    make_inferencer(toy, tmp_path / 'cams', **kwargs).run(dataset)
    img_id = dataset.get_data_info(0)['img_id']
    png = tmp_path / 'vis' / f'{img_id}.png'
    with Image.open(png) as img:
        assert img.size == (48, 48) and img.mode == 'RGB'
    os.remove(png)
    cams_time = os.stat(cam_path(str(tmp_path / 'cams'), img_id)).st_mtime_ns
    summary = make_inferencer(toy, tmp_path / 'cams', **kwargs).run(dataset)
    # Drawn again from the stored maps: the model did not run, the maps were not rewritten.
    assert summary.done == [] and png.exists()
    assert os.stat(cam_path(str(tmp_path / 'cams'), img_id)).st_mtime_ns == cams_time

    heat = make_inferencer(toy, tmp_path / 'cams2', overlay_mode='heatmap', **kwargs)
    heat.overlay_dir = str(tmp_path / 'heat')
    heat.run(dataset)
    k = len(load_cams(cam_path(str(tmp_path / 'cams2'), img_id))['class_ids'])
    with Image.open(tmp_path / 'heat' / f'{img_id}.png') as img:
        assert img.size == (48 * (k + 1), 48)
        # The first tile is the image itself, in RGB order.
        with Image.open(dataset.get_data_info(0)['img_path']) as src:
            np.testing.assert_array_equal(np.asarray(img)[:, :48], np.asarray(src.convert('RGB')))


def test_run_settings_guard_mixing(tmp_path):
    settings = dict(checkpoint='/a.pth', scales=(1.0, 0.5), flip=True)
    check_run_settings(str(tmp_path), settings)
    check_run_settings(str(tmp_path), dict(settings))
    with pytest.raises(ValueError, match='scales'):
        check_run_settings(str(tmp_path), dict(settings, scales=(1.0, )))


def test_checkpoint_must_fit_the_config(toy, tmp_path):
    cfg = toy_cfg(toy['root'])
    cfg.merge_from_dict({'model.backbone.timm_kwargs.depth': 3})
    with pytest.raises(RuntimeError, match='does not fit'):
        init_cam_model(cfg, toy['ckpt'])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_cam_model(cfg, str(tmp_path / 'missing.pth'))
