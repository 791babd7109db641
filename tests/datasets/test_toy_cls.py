# Copyright (c) ACR-WSSS contributors. All rights reserved.
import hashlib
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from projects.acr.datasets import TOY_CLASSES, TOY_PALETTE, ToyClsDataset, VOCClsDataset
from projects.acr.toy_data import generator as toy_generator
from projects.acr.toy_data import make_toy_dataset, render_toy_sample

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_TRAIN, NUM_VAL, IMG_SIZE = 24, 6, 64


def tree_digest(root):
    """sha256 over every file's relative path and bytes."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            path = osp.join(dirpath, name)
            digest.update(osp.relpath(path, root).encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def read_ids(root, name):
    with open(osp.join(root, 'ImageSets', 'Segmentation', name)) as f:
        return f.read().split()


def masks_of(root, ids):
    return [np.array(Image.open(osp.join(root, 'SegmentationClassAug', i + '.png'))) for i in ids]


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy') / 'toy')
    summary = make_toy_dataset(root, num_train=NUM_TRAIN, num_val=NUM_VAL, img_size=IMG_SIZE,
                               seed=3)
    return root, summary


def test_tree_layout(toy_root):
    root, summary = toy_root
    assert not summary['skipped']
    train, val = read_ids(root, 'train.txt'), read_ids(root, 'val.txt')
    assert len(train) == NUM_TRAIN and len(val) == NUM_VAL
    assert read_ids(root, 'train_aug.txt') == train
    assert not set(train) & set(val)
    for img_id in train + val:
        img = Image.open(osp.join(root, 'JPEGImages', img_id + '.jpg'))
        mask = Image.open(osp.join(root, 'SegmentationClassAug', img_id + '.png'))
        assert img.format == 'JPEG' and img.mode == 'RGB' and img.size == (IMG_SIZE, IMG_SIZE)
        assert mask.format == 'PNG' and mask.mode == 'L' and mask.size == (IMG_SIZE, IMG_SIZE)
    preview = Image.open(osp.join(root, 'preview.png'))
    assert preview.mode == 'RGB' and preview.size[0] > 4 * IMG_SIZE
    assert osp.isfile(osp.join(root, toy_generator.COMPLETE_MARKER))
    # Nothing but the dataset itself next to it: no temporary trees left behind.
    assert os.listdir(osp.dirname(root)) == ['toy']
    assert summary['train']['images'] == NUM_TRAIN and summary['val']['images'] == NUM_VAL
    assert summary['classes'] == list(TOY_CLASSES)


def test_masks_are_valid_and_varied(toy_root):
    root, summary = toy_root
    masks = masks_of(root, read_ids(root, 'train.txt') + read_ids(root, 'val.txt'))
    classes_per_image = []
    for mask in masks:
        values = set(np.unique(mask).tolist())
        assert values <= {0, 1, 2, 3, 4, 5, 255}
        fg = values - {0, 255}
        assert fg, 'every image has at least one object'
        assert 0 in values, 'objects never fill the whole image'
        assert 255 in values
        classes_per_image.append(len(fg))
        # The boundary band is thin: a small share of the image, and every ignore pixel
        # touches a labelled pixel.
        ignore = mask == 255
        assert ignore.mean() < 0.2
        padded = np.pad(mask, 1, constant_values=255)
        labelled_nb = np.zeros_like(ignore)
        for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2), (0, 0), (0, 2), (2, 0), (2, 2)):
            labelled_nb |= padded[dy:dy + mask.shape[0], dx:dx + mask.shape[1]] != 255
        assert labelled_nb[ignore].all()
    assert max(classes_per_image) >= 2, 'some images hold two or more classes'
    seen = set().union(*(set(np.unique(m).tolist()) for m in masks)) - {0, 255}
    assert seen == {1, 2, 3, 4, 5}
    assert sum(summary['train']['images_per_class'].values()) >= NUM_TRAIN


def test_object_sizes_in_range():
    rng = np.random.default_rng(0)
    sizes = []
    for _ in range(40):
        obj = toy_generator._random_object(rng, 1, 96)
        # Mean diameter sqrt(major * minor) relative to the image side.
        sizes.append(2 * obj.body.radius * obj.body.aspect**0.5 / 96)
    assert 0.15 <= min(sizes) and max(sizes) <= 0.45


def test_classes_differ_in_colour():
    """Object pixels of each class have a distinct mean colour (the class cue exists)."""
    means = {c: [] for c in range(1, 6)}
    for i in range(40):
        img, mask = render_toy_sample(np.random.default_rng([7, i]), 96)
        for c in np.unique(mask):
            if 1 <= c <= 5:
                means[c].append(img[mask == c].mean(0))
    centres = np.stack([np.mean(means[c], 0) for c in range(1, 6)])
    dists = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    assert dists[~np.eye(5, dtype=bool)].min() > 30


def test_labels_match_masks(toy_root):
    root, _ = toy_root
    for name in ('train_aug.txt', 'val.txt'):
        dataset = ToyClsDataset(data_root=root, ann_file=f'ImageSets/Segmentation/{name}')
        ids = read_ids(root, name)
        assert len(dataset) == len(ids)
        for i, mask in enumerate(masks_of(root, ids)):
            info = dataset.get_data_info(i)
            assert info['img_id'] == ids[i]
            expected = np.zeros(5, np.float32)
            for c in set(np.unique(mask).tolist()) - {0, 255}:
                expected[c - 1] = 1
            np.testing.assert_array_equal(info['img_labels'], expected)


def test_toy_dataset_metainfo_and_registry(toy_root):
    from mmseg.registry import DATASETS
    root, _ = toy_root
    assert issubclass(ToyClsDataset, VOCClsDataset)
    assert ToyClsDataset.METAINFO['classes'] == TOY_CLASSES
    assert len(ToyClsDataset.METAINFO['palette']) == len(TOY_CLASSES)
    assert TOY_CLASSES[0] == 'background' and len(TOY_CLASSES) == 6
    dataset = DATASETS.build(dict(type='ToyClsDataset', data_root=root))
    assert dataset.num_classes == 6
    assert dataset.metainfo['classes'] == TOY_CLASSES
    assert [tuple(c) for c in dataset.metainfo['palette']] == list(TOY_PALETTE)


def test_pipeline_shapes(toy_root):
    root, _ = toy_root
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = ToyClsDataset(
            data_root=root, ann_file='ImageSets/Segmentation/val.txt', pipeline=pipeline)
        results = dataset[0]
    assert results['img'].shape == (IMG_SIZE, IMG_SIZE, 3)
    assert results['gt_seg_map'].shape == (IMG_SIZE, IMG_SIZE)
    assert results['gt_seg_map'].dtype == np.uint8


def test_deterministic(toy_root, tmp_path):
    root, _ = toy_root
    again = str(tmp_path / 'again')
    make_toy_dataset(again, num_train=NUM_TRAIN, num_val=NUM_VAL, img_size=IMG_SIZE, seed=3)
    # The first tree may have gained label caches from the dataset tests; compare the rest.
    for sub in ('JPEGImages', 'SegmentationClassAug'):
        assert tree_digest(osp.join(root, sub)) == tree_digest(osp.join(again, sub))
    for name in ('train_aug.txt', 'train.txt', 'val.txt'):
        assert read_ids(root, name) == read_ids(again, name)
    with open(osp.join(root, 'preview.png'), 'rb') as a, \
            open(osp.join(again, 'preview.png'), 'rb') as b:
        assert a.read() == b.read()

    other = str(tmp_path / 'other')
    make_toy_dataset(other, num_train=NUM_TRAIN, num_val=NUM_VAL, img_size=IMG_SIZE, seed=4)
    assert tree_digest(osp.join(other, 'JPEGImages')) != tree_digest(osp.join(again,
                                                                              'JPEGImages'))


def test_split_sizes_do_not_change_samples():
    a_img, a_mask = render_toy_sample(toy_generator._sample_rng(5, 'val', 2), 64)
    b_img, b_mask = render_toy_sample(toy_generator._sample_rng(5, 'val', 2), 64)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)


def test_skip_if_complete_and_force(tmp_path):
    root = str(tmp_path / 'toy')
    kwargs = dict(num_train=4, num_val=2, img_size=48, seed=1)
    first = make_toy_dataset(root, **kwargs)
    jpg = osp.join(root, 'JPEGImages', 'toy_train_000000.jpg')
    mtime = os.stat(jpg).st_mtime_ns

    again = make_toy_dataset(root, **kwargs)
    assert again['skipped'] and not first['skipped']
    assert again['train'] == first['train']
    assert os.stat(jpg).st_mtime_ns == mtime

    forced = make_toy_dataset(root, force=True, **kwargs)
    assert not forced['skipped']
    assert os.stat(jpg).st_mtime_ns != mtime

    # Other parameters: the old toy tree is replaced.
    bigger = make_toy_dataset(root, **dict(kwargs, num_train=5))
    assert not bigger['skipped']
    assert len(read_ids(root, 'train.txt')) == 5
    assert sorted(os.listdir(tmp_path)) == ['toy']


def test_refuses_foreign_directory(tmp_path):
    root = tmp_path / 'precious'
    root.mkdir()
    (root / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='precious'):
        make_toy_dataset(str(root), num_train=2, num_val=1, img_size=48)
    assert (root / 'notes.txt').read_text() == 'keep me'
    # An empty directory is fine.
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert not make_toy_dataset(str(empty), num_train=2, num_val=1, img_size=48)['skipped']


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    original = toy_generator.render_toy_sample

    def flaky(rng, img_size):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return original(rng, img_size)

    monkeypatch.setattr(toy_generator, 'render_toy_sample', flaky)
    with pytest.raises(KeyboardInterrupt):
        make_toy_dataset(str(tmp_path / 'toy'), num_train=6, num_val=2, img_size=48)
    assert os.listdir(tmp_path) == []


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match='img_size'):
        make_toy_dataset(str(tmp_path / 'a'), img_size=8)
    with pytest.raises(ValueError, match='positive number'):
        make_toy_dataset(str(tmp_path / 'a'), num_train=0, num_val=0)
    with pytest.raises(ValueError, match='seed'):
        make_toy_dataset(str(tmp_path / 'a'), seed=-1)


def load_tool():
    path = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'make_toy_dataset.py')
    spec = importlib.util.spec_from_file_location('make_toy_dataset_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_help():
    tool = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'make_toy_dataset.py')
    out = subprocess.run([sys.executable, tool, '--help'], capture_output=True, text=True,
                         check=True).stdout
    for flag in ('out_dir', '--seed', '--num-train', '--num-val', '--img-size', '--force'):
        assert flag in out


def test_cli_main(tmp_path, capsys):
    tool = load_tool()
    args = tool.parse_args([])
    assert (args.out_dir, args.seed, args.num_train, args.num_val, args.img_size,
            args.force) == ('data/toy', 0, 600, 100, 96, False)
    out_dir = str(tmp_path / 'cli_toy')
    argv = [out_dir, '--seed', '2', '--num-train', '3', '--num-val', '2', '--img-size', '40']
    summary = tool.main(argv)
    assert not summary['skipped'] and summary['img_size'] == 40
    assert len(os.listdir(osp.join(out_dir, 'JPEGImages'))) == 5
    assert 'generated' in capsys.readouterr().out
    assert tool.main(argv)['skipped']
    assert 'reused' in capsys.readouterr().out
    assert not tool.main(argv + ['--force'])['skipped']
