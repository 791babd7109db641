# Copyright (c) ACR-WSSS contributors. All rights reserved.
from . import transforms  # noqa: F401  (registers the data transforms)
from .coco_cls import COCO_CLASSES, COCOClsDataset
from .label_cache import ImageLabelCache, compute_image_labels, image_labels_from_mask
from .label_mask import read_label_mask
from .pseudo_label_dataset import PseudoLabelSegDataset
from .toy_cls import ToyClsDataset
from .toy_meta import TOY_CLASSES, TOY_PALETTE
from .voc_cls import VOC_CLASSES, VOCClsDataset, voc_palette

__all__ = [
    'PseudoLabelSegDataset', 'VOCClsDataset', 'COCOClsDataset', 'ToyClsDataset',
    'VOC_CLASSES', 'COCO_CLASSES',
    'voc_palette', 'TOY_CLASSES', 'TOY_PALETTE',
    'ImageLabelCache', 'compute_image_labels', 'image_labels_from_mask', 'read_label_mask'
]
