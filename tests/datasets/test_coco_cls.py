# Copyright (c) ACR-WSSS contributors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from projects.acr.datasets import COCO_CLASSES, COCOClsDataset
from projects.acr.datasets import label_cache as label_cache_module
from projects.acr.datasets import voc_palette

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs')


def reference_labels(mask, num_classes=81, ignore_index=255):
    """Plain-Python multi-hot labels over the 80 foreground classes."""
    labels = [0.0] * (num_classes - 1)
    for value in set(int(x) for x in mask.ravel()):
        if value not in (0, ignore_index):
            labels[value - 1] = 1.0
    return np.array(labels, dtype=np.float32)


def write_coco_tree(root, split, masks, list_ids=None):
    """Images and masks of one split in the WSSS COCO layout, plus its id list."""
    rng = np.random.default_rng(len(masks))
    img_dir = osp.join(root, 'coco2014', f'{split}2014')
    mask_dir = osp.join(root, 'SegmentationClass', f'{split}2014')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(mask_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'ImageSets'), exist_ok=True)
    for stem, mask in masks.items():
        h, w = mask.shape
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            osp.join(img_dir, stem + '.jpg'))
        Image.fromarray(mask).save(osp.join(mask_dir, stem + '.png'))
    ids = list(masks) if list_ids is None else list_ids
    with open(osp.join(root, 'ImageSets', f'{split}.txt'), 'w') as f:
        f.write(''.join(f'{i}\n' for i in ids))


def mask_with(rng, height, width, classes):
    mask = np.zeros((height, width), np.uint8)
    for c in classes:
        y, x = rng.integers(0, height - 6), rng.integers(0, width - 6)
        mask[y:y + 6, x:x + 6] = c
    mask[-1, -4:] = 255
    return mask


@pytest.fixture
def coco_root(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    rng = np.random.default_rng(0)
    train = {
        'COCO_train2014_000000000009': mask_with(rng, 32, 40, [1, 80]),
        'COCO_train2014_000000000025': mask_with(rng, 48, 36, [25]),
        'COCO_train2014_000000000030': mask_with(rng, 40, 40, []),
    }
    val = {'COCO_val2014_000000000042': mask_with(rng, 36, 44, [3, 41, 62])}
    root = str(tmp_path / 'coco')
    write_coco_tree(root, 'train', train)
    write_coco_tree(root, 'val', val)
    return root, train, val


def cache_files(root):
    return sorted(f for f in os.listdir(osp.join(root, 'ImageSets')) if f.endswith('.npz'))


def test_metainfo():
    assert len(COCO_CLASSES) == 81 and len(set(COCO_CLASSES)) == 81
    assert COCO_CLASSES[:3] == ('background', 'person', 'bicycle')
    assert COCO_CLASSES[-1] == 'toothbrush'
    assert COCOClsDataset.METAINFO['palette'] == voc_palette(81)


def test_train_split_paths_and_labels(coco_root):
    root, train, _ = coco_root
    dataset = COCOClsDataset(data_root=root)
    assert len(dataset) == 3 and dataset.num_classes == 81
    assert dataset.metainfo['classes'] == COCO_CLASSES
    for i, (stem, mask) in enumerate(train.items()):
        info = dataset.get_data_info(i)
        assert info['img_id'] == stem
        assert info['img_path'] == osp.join(root, 'coco2014', 'train2014', stem + '.jpg')
        assert info['seg_map_path'] == osp.join(root, 'SegmentationClass', 'train2014',
                                                stem + '.png')
        assert info['img_labels'].shape == (80, )
        np.testing.assert_array_equal(info['img_labels'], reference_labels(mask))
    first = dataset.get_data_info(0)['img_labels']
    assert first[0] == 1 and first[79] == 1 and first.sum() == 2  # person, toothbrush


def test_val_split_defaults(coco_root):
    root, _, val = coco_root
    dataset = COCOClsDataset(data_root=root, split='val')
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'coco2014', 'val2014',
                                        'COCO_val2014_000000000042.jpg')
    np.testing.assert_array_equal(info['img_labels'],
                                  reference_labels(val['COCO_val2014_000000000042']))
    with pytest.raises(ValueError, match='split'):
        COCOClsDataset(data_root=root, split='test')


def test_numeric_ids_are_expanded(coco_root):
    root, train, _ = coco_root
    with open(osp.join(root, 'ImageSets', 'numeric.txt'), 'w') as f:
        f.write('9\n000000000025\nCOCO_train2014_000000000030\n')
    dataset = COCOClsDataset(data_root=root, ann_file='ImageSets/numeric.txt')
    assert [dataset.get_data_info(i)['img_id'] for i in range(3)] == list(train)

    with open(osp.join(root, 'ImageSets', 'mixed.txt'), 'w') as f:
        f.write('COCO_val2014_000000000042\n')
    with pytest.raises(ValueError, match=r"COCO_val2014_000000000042.*mixed\.txt.*'train'"):
        COCOClsDataset(data_root=root, ann_file='ImageSets/mixed.txt')


def test_labels_cached_and_reused(coco_root, monkeypatch):
    root, train, _ = coco_root
    first = COCOClsDataset(data_root=root)
    assert len(cache_files(root)) == 1 and cache_files(root)[0].startswith('train.')

    reads = []
    original = label_cache_module.read_label_mask
    monkeypatch.setattr(label_cache_module, 'read_label_mask',
                        lambda path: reads.append(path) or original(path))
    second = COCOClsDataset(data_root=root)
    assert reads == []
    for i in range(len(train)):
        np.testing.assert_array_equal(first.get_data_info(i)['img_labels'],
                                      second.get_data_info(i)['img_labels'])
    # The val split has its own list, hence its own cache, read from its masks.
    COCOClsDataset(data_root=root, split='val')
    assert len(reads) == 1 and len(cache_files(root)) == 2


def test_bad_input_errors(coco_root, tmp_path):
    root, train, _ = coco_root
    with pytest.raises(FileNotFoundError, match='data_root'):
        COCOClsDataset(data_root=str(tmp_path / 'no_such_root'))
    with pytest.raises(FileNotFoundError, match=r'ImageSets/nothing\.txt'):
        COCOClsDataset(data_root=root, ann_file='ImageSets/nothing.txt')
    with open(osp.join(root, 'ImageSets', 'empty.txt'), 'w') as f:
        f.write('\n\n')
    with pytest.raises(ValueError, match=r'empty\.txt is empty'):
        COCOClsDataset(data_root=root, ann_file='ImageSets/empty.txt')

    # Values beyond the 80 classes (other than 255) are reported with the mask file.
    bad = next(iter(train))
    mask_path = osp.join(root, 'SegmentationClass', 'train2014', bad + '.png')
    mask = np.array(Image.open(mask_path))
    mask[0, 0], mask[0, 1] = 81, 200
    Image.fromarray(mask).save(mask_path)
    with pytest.raises(ValueError, match=rf'{bad}\.png holds values \[81, 200\]'):
        COCOClsDataset(data_root=root, label_cache=False)


def test_config_pipelines_run_on_the_tree(coco_root):
    root, train, _ = coco_root
    cfg = Config.fromfile(osp.join(CONFIG_DIR, '_base_', 'datasets', 'coco_cls.py'))
    assert cfg.train_dataloader.dataset.type == 'COCOClsDataset'
    for loader, n in ((cfg.train_dataloader, 3), (cfg.test_dataloader, 3)):
        kwargs = dict(loader.dataset)
        kwargs.pop('type')
        kwargs['data_root'] = root
        dataset = COCOClsDataset(**kwargs)
        assert len(dataset) == n
        out = dataset[0]
        sample = out['data_samples']
        if loader is cfg.train_dataloader:
            assert tuple(out['inputs'].shape) == (2, 3, 384, 384)
        else:
            mask = train['COCO_train2014_000000000009']
            # The image is resized to the crop size for the ViT, the mask is not.
            assert tuple(out['inputs'].shape) == (3, 384, 384)
            assert tuple(sample.ori_shape) == mask.shape
            np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(), mask)
        np.testing.assert_array_equal(sample.img_labels, reference_labels(
            train[sample.img_id]))
