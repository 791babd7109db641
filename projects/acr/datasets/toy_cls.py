# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""The synthetic toy dataset, read like PASCAL VOC."""
from mmseg.registry import DATASETS

from .toy_meta import TOY_CLASSES, TOY_PALETTE
from .voc_cls import VOCClsDataset


@DATASETS.register_module()
class ToyClsDataset(VOCClsDataset):
    """Images of :func:`projects.acr.toy_data.make_toy_dataset` with multi-hot image-level labels.

    The tree and the data info keys are those of :class:`VOCClsDataset`; only the classes
    differ: background plus ``ladybird``, ``tiger``, ``chessboard``, ``leaf`` and
    ``target``. All constructor arguments are those of :class:`VOCClsDataset`; generate the
    data first with ``python tools/dataset_converters/make_toy_dataset.py data/toy``.
    """

    METAINFO = dict(classes=TOY_CLASSES, palette=[list(rgb) for rgb in TOY_PALETTE])
