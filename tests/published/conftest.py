import os.path as osp

import pytest
from published_configs import copy_masks_as_labels, make_coco_tree, make_voc_tree

from projects.acr.toy_data import make_toy_dataset


@pytest.fixture(scope='session')
def trees(tmp_path_factory):
    """One made VOC tree, COCO tree and toy tree for the whole test session, with
    training labels (copies of the masks) in folders of their own."""
    base = tmp_path_factory.mktemp('published_data')
    voc = make_voc_tree(str(base / 'VOCdevkit' / 'VOC2012'))
    coco = make_coco_tree(voc, str(base / 'coco'))
    # The toy configs' own data: square images of the toy size (their batches need it).
    toy = str(base / 'toy')
    make_toy_dataset(toy, num_train=4, num_val=2, seed=0)
    return dict(
        voc=voc, coco=coco, toy=toy,
        voc_labels=copy_masks_as_labels(osp.join(voc, 'SegmentationClassAug'),
                                        str(base / 'labels' / 'voc')),
        coco_labels=copy_masks_as_labels(osp.join(coco, 'SegmentationClass', 'train2014'),
                                         str(base / 'labels' / 'coco')),
        toy_labels=copy_masks_as_labels(osp.join(toy, 'SegmentationClassAug'),
                                        str(base / 'labels' / 'toy')))
