import os
import os.path as osp
import shutil

import pytest
from mmseg.registry import DATASETS

from projects.acr.datasets import TOY_CLASSES
from projects.acr.datasets.ground_truth_guard import check_not_ground_truth
from projects.acr.toy_data import make_toy_dataset

SPLIT = 'ImageSets/Segmentation/train_aug.txt'


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('guard') / 'VOC2012')
    make_toy_dataset(root, num_train=3, num_val=1, img_size=32, seed=0)
    return root


def _pseudo(tree, label_dir):
    return DATASETS.build(dict(
        type='PseudoLabelSegDataset', data_root=tree, ann_file=SPLIT,
        pseudo_label_dir=label_dir, metainfo=dict(classes=TOY_CLASSES),
        pipeline=[]))


def _affinity(tree, **dirs):
    return DATASETS.build(dict(type='AffinityLabelDataset', data_root=tree, ann_file=SPLIT,
                               pipeline=[], **dirs))


def test_stage2_and_affinitynet_refuse_the_dataset_masks(tree):
    masks = osp.join(tree, 'SegmentationClassAug')
    with pytest.raises(ValueError, match='PseudoLabelSegDataset pseudo_label_dir.*ground-truth'):
        _pseudo(tree, masks)
    with pytest.raises(ValueError, match='AffinityLabelDataset label_dir.*ground-truth'):
        _affinity(tree, label_dir=masks + '/')
    with pytest.raises(ValueError, match='high_label_dir'):
        _affinity(tree, low_label_dir=osp.join(tree, 'JPEGImages'), high_label_dir=masks)


def test_links_and_subfolders_of_the_masks_are_refused_too(tree, tmp_path):
    masks = osp.join(tree, 'SegmentationClassAug')
    link = str(tmp_path / 'labels')
    os.symlink(masks, link)
    with pytest.raises(ValueError, match='ground-truth mask folder'):
        _pseudo(tree, link)
    inner = osp.join(masks, 'copy')
    os.makedirs(inner)
    try:
        with pytest.raises(ValueError, match='ground-truth mask folder'):
            check_not_ground_truth(inner, tree, 'label_dir')
    finally:
        os.rmdir(inner)
    # Named like a mask folder of another tree: refused as well.
    with pytest.raises(ValueError, match='SegmentationClass'):
        check_not_ground_truth(str(tmp_path / 'SegmentationClass'), None, 'label_dir')


def test_pseudo_labels_elsewhere_are_accepted(tree, tmp_path):
    labels = str(tmp_path / 'work_dirs' / 'pseudo_labels')
    shutil.copytree(osp.join(tree, 'SegmentationClassAug'), labels)
    assert len(_pseudo(tree, labels)) == 3
    assert len(_affinity(tree, label_dir=labels)) == 3
