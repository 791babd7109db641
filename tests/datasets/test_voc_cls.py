# Copyright (c) ACR-WSSS contributors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from projects.acr.datasets import (VOC_CLASSES, ImageLabelCache, VOCClsDataset,
                                   image_labels_from_mask)
from projects.acr.datasets import label_cache as label_cache_module
from projects.acr.datasets import voc_palette

NUM_CLASSES = len(VOC_CLASSES)


def reference_labels(mask, num_classes=NUM_CLASSES, ignore_index=255):
    """Plain-Python multi-hot labels, the definition the dataset must follow."""
    labels = [0.0] * (num_classes - 1)
    for value in set(int(x) for x in mask.ravel()):
        if value != 0 and value != ignore_index:
            labels[value - 1] = 1.0
    return np.array(labels, dtype=np.float32)


def random_mask(rng, height, width, classes):
    """A mask with background, the given classes in rectangles and some 255 pixels."""
    mask = np.zeros((height, width), dtype=np.uint8)
    for c in classes:
        y, x = rng.integers(0, height - 4), rng.integers(0, width - 4)
        mask[y:y + 4, x:x + 4] = c
    mask[0, :3] = 255
    return mask


def write_voc_tree(root, masks, lists=None, rng=None):
    """Write a VOC-shaped tree with one random JPEG per mask; returns the masks."""
    rng = rng or np.random.default_rng(0)
    os.makedirs(osp.join(root, 'JPEGImages'), exist_ok=True)
    os.makedirs(osp.join(root, 'SegmentationClassAug'), exist_ok=True)
    os.makedirs(osp.join(root, 'ImageSets', 'Segmentation'), exist_ok=True)
    for img_id, mask in masks.items():
        h, w = mask.shape
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(img).save(osp.join(root, 'JPEGImages', img_id + '.jpg'))
        Image.fromarray(mask).save(osp.join(root, 'SegmentationClassAug', img_id + '.png'))
    lists = lists or {'train_aug.txt': list(masks)}
    for name, ids in lists.items():
        with open(osp.join(root, 'ImageSets', 'Segmentation', name), 'w') as f:
            f.write(''.join(f'{i}\n' for i in ids))
    return masks


@pytest.fixture
def voc_root(tmp_path, monkeypatch):
    # Keep the fallback cache location inside the test directory.
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    rng = np.random.default_rng(1)
    masks = {
        '2007_000001': random_mask(rng, 20, 30, [1]),
        '2007_000002': random_mask(rng, 24, 16, [3, 15, 20]),
        '2008_000003': random_mask(rng, 18, 18, []),
        '2009_000004': random_mask(rng, 22, 26, [15, 7]),
    }
    root = tmp_path / 'VOC2012'
    write_voc_tree(str(root), masks, rng=rng)
    return str(root), masks


def cache_files(root):
    return sorted(f for f in os.listdir(osp.join(root, 'ImageSets', 'Segmentation'))
                  if f.endswith('.npz') or f.endswith('.tmp'))


def test_voc_palette_values():
    palette = voc_palette(NUM_CLASSES)
    assert len(palette) == 21
    assert palette[:6] == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
                           [128, 0, 128]]
    assert palette[8] == [64, 0, 0]
    assert palette[15] == [192, 128, 128]  # person
    assert palette[20] == [0, 64, 128]  # tvmonitor
    full = voc_palette()
    assert len(full) == 256 and len({tuple(c) for c in full}) == 256
    assert VOCClsDataset.METAINFO['palette'] == palette
    assert VOCClsDataset.METAINFO['classes'][0] == 'background'
    assert len(VOCClsDataset.METAINFO['classes']) == 21


@pytest.mark.parametrize('dtype', [np.uint8, np.int32, np.int64])
def test_labels_from_mask_matches_reference(dtype):
    rng = np.random.default_rng(0)
    for _ in range(20):
        values = rng.choice(np.r_[np.arange(NUM_CLASSES), 255], rng.integers(1, 6))
        mask = rng.choice(values, (13, 17)).astype(dtype)
        expected = reference_labels(mask)
        got = image_labels_from_mask(mask, NUM_CLASSES)
        assert got.dtype == np.float32 and got.shape == (NUM_CLASSES - 1,)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(VOCClsDataset.labels_from_mask(mask), expected)


def test_labels_from_mask_rejects_bad_masks():
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0], mask[1, 1] = 21, 100
    with pytest.raises(ValueError, match=r'some/mask\.png.*\[21, 100\]'):
        image_labels_from_mask(mask, NUM_CLASSES, source='some/mask.png')
    with pytest.raises(ValueError, match=r'\[-1\]'):
        image_labels_from_mask(np.full((2, 2), -1, np.int32), NUM_CLASSES)
    with pytest.raises(ValueError, match='single-channel'):
        image_labels_from_mask(np.zeros((4, 4, 3), np.uint8), NUM_CLASSES)
    with pytest.raises(ValueError, match='integer'):
        image_labels_from_mask(np.zeros((4, 4), np.float32), NUM_CLASSES)
    # 255 is the ignore value, not a class.
    np.testing.assert_array_equal(
        image_labels_from_mask(np.full((2, 2), 255, np.uint8), NUM_CLASSES), np.zeros(20))


def test_data_list_fields_and_labels(voc_root):
    root, masks = voc_root
    dataset = VOCClsDataset(data_root=root)
    assert len(dataset) == len(masks)
    assert dataset.num_classes == 21
    for i, (img_id, mask) in enumerate(masks.items()):
        info = dataset.get_data_info(i)
        assert set(info) >= {'img_path', 'seg_map_path', 'img_id', 'img_labels',
                             'reduce_zero_label', 'seg_fields'}
        assert info['img_id'] == img_id
        assert info['img_path'] == osp.join(root, 'JPEGImages', img_id + '.jpg')
        assert info['seg_map_path'] == osp.join(root, 'SegmentationClassAug', img_id + '.png')
        assert info['reduce_zero_label'] is False
        assert info['seg_fields'] == []
        assert info['img_labels'].dtype == np.float32
        np.testing.assert_array_equal(info['img_labels'], reference_labels(mask))
    # The image with only background has an all-zero label vector.
    assert dataset.get_data_info(2)['img_labels'].sum() == 0


def test_other_list_subset_and_registry(voc_root):
    from mmseg.registry import DATASETS
    root, masks = voc_root
    ids = list(masks)[1:3]
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'val.txt'), 'w') as f:
        f.write('\n' + '\n'.join(ids) + '\n\n')  # blank lines are skipped
    dataset = DATASETS.build(
        dict(type='VOCClsDataset', data_root=root, ann_file='ImageSets/Segmentation/val.txt'))
    assert isinstance(dataset, VOCClsDataset)
    assert [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))] == ids
    subset = VOCClsDataset(data_root=root, indices=1)
    assert len(subset) == 1


def test_cache_is_reused_without_reading_masks(voc_root, monkeypatch):
    root, masks = voc_root
    first = VOCClsDataset(data_root=root)
    files = cache_files(root)
    assert len(files) == 1 and files[0].startswith('train_aug.img_labels.')

    reads = []
    original = label_cache_module.read_label_mask
    monkeypatch.setattr(label_cache_module, 'read_label_mask',
                        lambda path: reads.append(path) or original(path))
    # A deleted mask is not noticed: the labels come from the cache.
    os.remove(osp.join(root, 'SegmentationClassAug', '2007_000002.png'))
    second = VOCClsDataset(data_root=root)
    assert reads == []
    for i in range(len(masks)):
        np.testing.assert_array_equal(first.get_data_info(i)['img_labels'],
                                      second.get_data_info(i)['img_labels'])

    # Without the cache the masks are read again (and the deleted one is missed).
    with pytest.raises(FileNotFoundError, match='2007_000002.png'):
        VOCClsDataset(data_root=root, label_cache=False)


def test_cache_rebuilt_when_list_changes(voc_root, monkeypatch):
    root, masks = voc_root
    VOCClsDataset(data_root=root)
    list_file = osp.join(root, 'ImageSets', 'Segmentation', 'train_aug.txt')
    ids = list(masks)[::-1][:3]
    with open(list_file, 'w') as f:
        f.write('\n'.join(ids))

    reads = []
    original = label_cache_module.read_label_mask
    monkeypatch.setattr(label_cache_module, 'read_label_mask',
                        lambda path: reads.append(path) or original(path))
    dataset = VOCClsDataset(data_root=root)
    assert len(reads) == 3
    assert [dataset.get_data_info(i)['img_id'] for i in range(3)] == ids
    for i, img_id in enumerate(ids):
        np.testing.assert_array_equal(dataset.get_data_info(i)['img_labels'],
                                      reference_labels(masks[img_id]))
    # Same name: the stale cache was overwritten, not kept alongside.
    assert len(cache_files(root)) == 1


def test_cache_falls_back_to_user_dir(voc_root, monkeypatch, tmp_path):
    root, masks = voc_root
    list_dir = osp.join(root, 'ImageSets', 'Segmentation')
    original = label_cache_module.atomic_save_npz

    def save(path, **arrays):
        if osp.dirname(path) == list_dir:
            raise PermissionError(13, 'Permission denied', path)
        return original(path, **arrays)

    monkeypatch.setattr(label_cache_module, 'atomic_save_npz', save)
    VOCClsDataset(data_root=root)
    assert cache_files(root) == []
    user_dir = tmp_path / 'xdg' / 'acr_wsss'
    assert len(list(user_dir.glob('train_aug.img_labels.*.npz'))) == 1

    # The fallback copy is found on the next construction.
    monkeypatch.setattr(label_cache_module, 'read_label_mask',
                        lambda path: pytest.fail('mask read despite cache'))
    dataset = VOCClsDataset(data_root=root)
    np.testing.assert_array_equal(dataset.get_data_info(3)['img_labels'],
                                  reference_labels(masks['2009_000004']))


def test_explicit_cache_dir(voc_root, tmp_path):
    root, _ = voc_root
    cache_dir = tmp_path / 'my_cache'
    VOCClsDataset(data_root=root, label_cache=str(cache_dir))
    assert len(list(cache_dir.glob('*.npz'))) == 1
    assert cache_files(root) == []


def test_cache_file_is_readable_by_others_sharing_the_data(voc_root, tmp_path):
    root, _ = voc_root
    cache_dir = tmp_path / 'shared_cache'
    umask = os.umask(0o022)
    try:
        VOCClsDataset(data_root=root, label_cache=str(cache_dir))
    finally:
        os.umask(umask)
    (cache,) = cache_dir.glob('*.npz')
    assert cache.stat().st_mode & 0o777 == 0o644


def test_failed_cache_write_leaves_no_files(voc_root, monkeypatch, tmp_path):
    root, masks = voc_root

    def broken_savez(f, **arrays):
        f.write(b'PK partial')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(label_cache_module.np, 'savez', broken_savez)
    dataset = VOCClsDataset(data_root=root)  # still usable, just uncached
    assert len(dataset) == len(masks)
    assert cache_files(root) == []
    user_dir = tmp_path / 'xdg' / 'acr_wsss'
    assert not user_dir.exists() or list(user_dir.iterdir()) == []


def test_corrupt_cache_is_rebuilt(voc_root):
    root, masks = voc_root
    VOCClsDataset(data_root=root)
    path = osp.join(root, 'ImageSets', 'Segmentation', cache_files(root)[0])
    with open(path, 'wb') as f:
        f.write(b'not an npz')
    dataset = VOCClsDataset(data_root=root)
    np.testing.assert_array_equal(dataset.get_data_info(1)['img_labels'],
                                  reference_labels(masks['2007_000002']))
    with np.load(path) as data:  # rewritten as a valid cache
        assert data['labels'].shape == (len(masks), 20)


def test_missing_data_root(tmp_path):
    missing = str(tmp_path / 'no_such_voc')
    with pytest.raises(FileNotFoundError, match='no_such_voc'):
        VOCClsDataset(data_root=missing)


def test_missing_list_file(voc_root):
    root, _ = voc_root
    with pytest.raises(FileNotFoundError, match=r'ImageSets/Segmentation/nope\.txt'):
        VOCClsDataset(data_root=root, ann_file='ImageSets/Segmentation/nope.txt')


def test_empty_list_file(voc_root):
    root, _ = voc_root
    path = osp.join(root, 'ImageSets', 'Segmentation', 'empty.txt')
    with open(path, 'w') as f:
        f.write('\n  \n')
    with pytest.raises(ValueError, match=r'empty\.txt.*empty'):
        VOCClsDataset(data_root=root, ann_file=path)


def test_missing_mask(voc_root):
    root, _ = voc_root
    path = osp.join(root, 'SegmentationClassAug', '2008_000003.png')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match='2008_000003') as info:
        VOCClsDataset(data_root=root)
    assert path in str(info.value)
    assert cache_files(root) == []


def test_missing_mask_dir_and_prefix_key(voc_root):
    root, _ = voc_root
    with pytest.raises(FileNotFoundError, match='SegmentationClass'):
        VOCClsDataset(
            data_root=root,
            data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
    with pytest.raises(KeyError, match='seg_map_path'):
        VOCClsDataset(data_root=root, data_prefix=dict(img_path='JPEGImages'))


def test_mask_values_out_of_range(voc_root):
    root, _ = voc_root
    path = osp.join(root, 'SegmentationClassAug', '2009_000004.png')
    mask = np.zeros((5, 5), np.uint8)
    mask[1, 1], mask[2, 2], mask[3, 3] = 5, 21, 254
    Image.fromarray(mask).save(path)
    with pytest.raises(ValueError, match=r'\[21, 254\]') as info:
        VOCClsDataset(data_root=root)
    assert path in str(info.value)
    assert cache_files(root) == []


def test_rgb_mask_rejected(voc_root):
    root, _ = voc_root
    path = osp.join(root, 'SegmentationClassAug', '2007_000001.png')
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(path)
    with pytest.raises(ValueError, match="mode 'RGB'") as info:
        VOCClsDataset(data_root=root)
    assert path in str(info.value)


def test_palette_mask_accepted(voc_root):
    root, masks = voc_root
    path = osp.join(root, 'SegmentationClassAug', '2007_000002.png')
    pal = Image.fromarray(masks['2007_000002'], mode='P')
    pal.putpalette(sum(voc_palette(), []))
    pal.save(path)
    assert Image.open(path).mode == 'P'
    dataset = VOCClsDataset(data_root=root, label_cache=False)
    np.testing.assert_array_equal(dataset.get_data_info(1)['img_labels'],
                                  reference_labels(masks['2007_000002']))


def test_label_cache_direct(voc_root):
    root, masks = voc_root
    list_file = osp.join(root, 'ImageSets', 'Segmentation', 'train_aug.txt')
    seg_dir = osp.join(root, 'SegmentationClassAug')
    cache = ImageLabelCache(list_file, seg_dir, NUM_CLASSES)
    ids = list(masks)
    paths = [osp.join(seg_dir, i + '.png') for i in ids]
    assert cache.load(ids) is None
    labels = cache.get(ids, paths)
    assert labels.shape == (len(ids), 20)
    np.testing.assert_array_equal(cache.load(ids), labels)
    # A different mask dir is a different cache.
    other = ImageLabelCache(list_file, root, NUM_CLASSES)
    assert other.candidate_paths[0] != cache.candidate_paths[0]
    assert other.load(ids) is None


def test_pipeline_loads_image_and_mask(voc_root):
    root, masks = voc_root
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = VOCClsDataset(data_root=root, pipeline=pipeline)
        for i, mask in enumerate(masks.values()):
            results = dataset[i]
            assert results['img'].shape == mask.shape + (3, )
            assert results['gt_seg_map'].shape == mask.shape
            np.testing.assert_array_equal(results['gt_seg_map'], mask)
            assert results['seg_fields'] == ['gt_seg_map']
            np.testing.assert_array_equal(results['img_labels'], reference_labels(mask))
