import importlib.util
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from projects.acr.datasets.converters import COCOWSSSConverter, VOCAugConverter
from projects.acr.datasets.converters.dataset_check import (DatasetChecker, check_item,
                                                            format_reports)
from projects.acr.toy_data import read_complete_marker

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOY_CONFIG = osp.join(ROOT, 'configs', 'acr', 'vit-tiny_toy.py')
VOC_CONFIG = osp.join(ROOT, 'configs', 'acr', 'vit_voc.py')

_spec = importlib.util.spec_from_file_location(
    'made_archives', osp.join(osp.dirname(__file__), 'made_archives.py'))
made_archives = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(made_archives)


@pytest.fixture(scope='module')
def toy_root(shared_toy_dataset):
    return shared_toy_dataset(num_train=6, num_val=4, img_size=48, seed=0)


def with_root(config, root):
    cfg = Config.fromfile(config)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key]['dataset']['data_root'] = root
    return cfg


def test_toy_dataset_passes(toy_root):
    reports = DatasetChecker(with_root(TOY_CONFIG, toy_root), progress=False).run()
    # train_aug (the training loader) and val (validation and test share it).
    assert [(r.name, r.num_ids, r.canonical, r.ok) for r in reports] == [
        ('train_dataloader', 6, 6, True), ('val_dataloader', 4, 4, True)]
    stats = read_complete_marker(toy_root)['summary']
    for report, split in zip(reports, ('train', 'val')):
        per_class = stats[split]['images_per_class']
        assert report.class_images.tolist() == [per_class[c] for c in report.class_names]
    text = format_reports(reports)
    assert 'ladybird' in text and 'FAILED' not in text


def test_broken_files_are_named(toy_root, tmp_path):
    root = str(tmp_path / 'toy')
    shutil.copytree(toy_root, root)
    lists = osp.join(root, 'ImageSets', 'Segmentation')
    with open(osp.join(lists, 'val.txt')) as f:
        ids = f.read().split()
    img = lambda i: osp.join(root, 'JPEGImages', i + '.jpg')  # noqa: E731
    mask = lambda i: osp.join(root, 'SegmentationClassAug', i + '.png')  # noqa: E731
    with open(img(ids[0]), 'rb') as f:
        data = f.read()
    with open(img(ids[0]), 'wb') as f:
        f.write(data[:len(data) // 3])  # truncated JPEG
    bad = np.asarray(Image.open(mask(ids[1]))).copy()
    bad[0, 0] = 9  # the toy dataset has classes 0-5
    Image.fromarray(bad).save(mask(ids[1]))
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(mask(ids[2]))  # wrong size
    os.remove(mask(ids[3]))
    with open(osp.join(lists, 'val.txt'), 'a') as f:
        f.write(ids[1] + '\n')
    cfg = with_root(TOY_CONFIG, root)
    (report,) = DatasetChecker(cfg, splits=['val'], progress=False, workers=2).run()
    assert not report.ok and report.num_ids == 5
    p = report.problems
    assert len(p['unreadable images']) == 1 and p['unreadable images'][0].startswith(img(ids[0]))
    assert p['bad mask values'] == [f'Segmentation mask in {mask(ids[1])} holds values [9] '
                                    'outside the valid set {0..5, 255}'] * 2
    assert p['size mismatches'] == [f'{mask(ids[2])}: mask 10x10, image 48x48 ({img(ids[2])})']
    assert p['missing masks'] == [mask(ids[3])]
    assert p['duplicate ids'] == [f'{ids[1]!r} on lines 2 and 5 of {osp.join(lists, "val.txt")}']
    assert p['missing images'] == [] and p['unreadable masks'] == []
    assert 'size mismatches: ' + p['size mismatches'][0] in report.first_bad()
    assert 'FAILED' in format_reports([report])


def test_check_item_reads_files(tmp_path):
    Image.new('RGB', (5, 4)).save(tmp_path / 'a.jpg')
    Image.fromarray(np.full((4, 5), 255, np.uint8)).save(tmp_path / 'a.png')
    assert check_item((3, str(tmp_path / 'a.jpg'), str(tmp_path / 'a.png'), 21, 255))[:2] == \
        (3, [])
    (tmp_path / 'b.png').write_bytes(b'not a png')
    _, problems, labels = check_item((0, str(tmp_path / 'x.jpg'), str(tmp_path / 'b.png'), 21,
                                      255))
    assert [k for k, _ in problems] == ['missing images', 'unreadable masks'] and labels is None


def test_converted_voc_tree_against_the_voc_config(tmp_path):
    made = made_archives.make_voc_sbd(str(tmp_path / 'src'))
    out = str(tmp_path / 'VOC2012')
    VOCAugConverter(made['voc'], made['sbd'], out, progress=False).run()
    cfg = with_root(VOC_CONFIG, out)
    reports = DatasetChecker(cfg, progress=False).run()
    assert [(r.name, r.num_ids, r.canonical) for r in reports] == [
        ('train_dataloader', 5, 10582), ('val_dataloader', 2, 1464)]
    assert all(sum(map(len, r.problems.values())) == 0 for r in reports)
    assert not any(r.ok for r in reports)  # a small tree is not the real dataset
    assert reports[0].counts[1][1:] == (7, 12031)  # the masks in SegmentationClassAug
    assert 'ids in train_aug.txt: 5, canonical 10,582' in reports[0].first_bad()
    # Counts reported only: the files are all fine.
    reports = DatasetChecker(cfg, splits=['train_aug', 'val'], check_counts=False,
                             progress=False).run()
    assert [(r.name, r.num_ids, r.ok) for r in reports] == [
        ('train_aug', 5, True), ('val', 2, True)]
    # train_aug: 2007_000001 (VOC), 2007_000002 (VOC), 2008_000010-12 (SBD).
    voc_k = [made['voc_masks'][i] for i in made_archives.TRAIN_AUG[:2]]
    sbd_k = [made['sbd_masks'][i] for i in made_archives.TRAIN_AUG[2:]]
    expected = np.zeros(20, np.int64)
    for m in voc_k + sbd_k:
        expected[[c - 1 for c in np.unique(m) if 0 < c < 255]] += 1
    assert reports[0].class_images.tolist() == expected.tolist()
    # mmsegmentation's list name is read in place of train_aug.txt.
    lists = osp.join(out, 'ImageSets', 'Segmentation')
    os.rename(osp.join(lists, 'train_aug.txt'), osp.join(lists, 'trainaug.txt'))
    (report,) = DatasetChecker(cfg, splits=['train_aug'], check_counts=False,
                               progress=False).run()
    assert report.ok and report.ann_file.endswith('trainaug.txt') and report.num_ids == 5
    # A missing list is an error of the report, not a crash.
    (report,) = DatasetChecker(cfg, splits=['nope'], progress=False).run()
    assert not report.ok and 'nope.txt' in report.error


def test_converted_coco_tree_against_the_coco_config(tmp_path):
    made = made_archives.make_coco_annotations(str(tmp_path / 'ann'))
    out = str(tmp_path / 'coco')
    COCOWSSSConverter(made['zip'], out, progress=False).run()
    for split in ('train', 'val'):
        img_dir = osp.join(out, 'coco2014', f'{split}2014')
        os.makedirs(img_dir)
        for stem in made[split]['stems'].values():
            Image.new('RGB', (12, 10)).save(osp.join(img_dir, stem + '.jpg'))
    cfg = with_root(osp.join(ROOT, 'configs', 'acr', 'vit_coco.py'), out)
    # Training, validation (its first 5,000) and test all read train2014's list: once.
    (report,) = DatasetChecker(cfg, progress=False).run()
    assert (report.num_ids, report.canonical, report.ok) == (2, 82081, False)
    reports = DatasetChecker(cfg, splits=['train', 'val', 'val_5000'], check_counts=False,
                             progress=False).run()
    assert [(r.name, r.num_ids, r.canonical, r.ok) for r in reports] == [
        ('train', 2, 82081, True), ('val', 2, 40137, True), ('val_5000', 2, 5000, True)]
    person, dog, brush = 0, 16, 79
    counts = reports[1].class_images
    assert (counts[person], counts[dog], counts[brush], counts.sum()) == (1, 1, 1, 3)
