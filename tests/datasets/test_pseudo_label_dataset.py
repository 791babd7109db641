# Copyright (c) ACR-WSSS contributors. All rights reserved.
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from projects.acr.datasets import TOY_CLASSES, voc_palette
from projects.acr.datasets.pseudo_label_dataset import PseudoLabelSegDataset

SPLIT = 'ImageSets/Segmentation/train_aug.txt'


def write_pseudo_labels(tree, out_dir):
    """Palette PNGs that differ from the real masks: class ids shifted by one, a 255 band.

    Returns:
        dict: image id -> the (H, W) uint8 label written.
    """
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(tree, SPLIT)) as f:
        ids = f.read().split()
    labels = {}
    for img_id in ids:
        real = np.array(Image.open(osp.join(tree, 'SegmentationClassAug', img_id + '.png')))
        label = np.where(real == 255, 0, real % 5 + 1).astype(np.uint8)
        label[:, :3] = 255
        png = Image.fromarray(label, mode='P')
        png.putpalette(sum(voc_palette(256), []))
        png.save(osp.join(out_dir, img_id + '.png'))
        labels[img_id] = label
    return labels


@pytest.fixture(scope='module')
def toy_tree(tmp_path_factory, shared_toy_dataset):
    root = tmp_path_factory.mktemp('pseudo')
    tree = shared_toy_dataset(num_train=4, num_val=2, img_size=48, seed=0)
    pseudo_dir = str(root / 'run' / 'pseudo_labels')
    return tree, pseudo_dir, write_pseudo_labels(tree, pseudo_dir)


def _dataset(tree, pseudo_dir, **kwargs):
    return DATASETS.build(
        dict(type='PseudoLabelSegDataset', data_root=tree, ann_file=SPLIT,
             data_prefix=dict(img_path='JPEGImages'), pseudo_label_dir=pseudo_dir,
             metainfo=dict(classes=TOY_CLASSES),
             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadCheckedAnnotations')],
             **kwargs))


def test_images_from_the_image_dir_labels_from_the_pseudo_dir(toy_tree):
    tree, pseudo_dir, labels = toy_tree
    dataset = _dataset(tree, pseudo_dir)
    assert len(dataset) == 4
    assert dataset.metainfo['classes'] == TOY_CLASSES
    for i, img_id in enumerate(sorted(labels)):
        item = dataset[i]
        assert item['img_path'] == osp.join(tree, 'JPEGImages', img_id + '.jpg')
        assert item['seg_map_path'] == osp.join(pseudo_dir, img_id + '.png')
        np.testing.assert_array_equal(item['gt_seg_map'], labels[img_id])
        real = np.array(Image.open(osp.join(tree, 'SegmentationClassAug', img_id + '.png')))
        assert not np.array_equal(item['gt_seg_map'], real)
        np.testing.assert_array_equal(item['img'], mmcv.imread(item['img_path']))


def test_relative_pseudo_dir_is_taken_from_the_working_directory(toy_tree, monkeypatch):
    tree, pseudo_dir, _ = toy_tree
    run_root = osp.dirname(osp.dirname(pseudo_dir))
    monkeypatch.chdir(run_root)
    dataset = _dataset(tree, 'run/pseudo_labels')
    assert dataset.pseudo_label_dir == pseudo_dir
    assert all(info['seg_map_path'].startswith(pseudo_dir + os.sep)
               for info in dataset.load_data_list())


def test_missing_labels_are_named_when_the_dataset_is_built(toy_tree, tmp_path):
    tree, pseudo_dir, labels = toy_tree
    partial = tmp_path / 'partial'
    partial.mkdir()
    kept, dropped = sorted(labels)[:2], sorted(labels)[2:]
    for img_id in kept:
        (partial / f'{img_id}.png').write_bytes(
            open(osp.join(pseudo_dir, img_id + '.png'), 'rb').read())
    with pytest.raises(FileNotFoundError, match=f'2 of the 4 images .*{dropped[0]}.png'):
        _dataset(tree, str(partial))


def test_missing_pseudo_dir_says_how_to_make_it(toy_tree, tmp_path):
    tree, _, _ = toy_tree
    with pytest.raises(FileNotFoundError, match='make_pseudo_labels'):
        _dataset(tree, str(tmp_path / 'nowhere'))


def test_lazy_init_defers_the_check(toy_tree, tmp_path):
    tree, _, _ = toy_tree
    dataset = _dataset(tree, str(tmp_path / 'nowhere'), lazy_init=True)
    with pytest.raises(FileNotFoundError):
        dataset.full_init()


@pytest.mark.parametrize('kwargs, match', [
    (dict(data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')),
     'seg_map_path'),
    (dict(pseudo_label_dir=''), 'pseudo_label_dir'),
    (dict(ann_file=''), 'ann_file'),
])
def test_bad_arguments_are_rejected(toy_tree, kwargs, match):
    tree, pseudo_dir, _ = toy_tree
    args = dict(data_root=tree, ann_file=SPLIT, pseudo_label_dir=pseudo_dir)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        PseudoLabelSegDataset(**args)
