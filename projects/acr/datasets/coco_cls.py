# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""MS COCO 2014 with image-level labels, read from VOC-style class masks."""
import re
from typing import List, Optional

from mmseg.registry import DATASETS

from .voc_cls import VOCClsDataset, voc_palette

# The 80 COCO object categories in the standard order (category ids 1..90 with the
# gaps removed); mask value k (1..80) is COCO_CLASSES[k].
COCO_CLASSES = (
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench',
    'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe',
    'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl',
    'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
    'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv',
    'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster',
    'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')

COCO_SPLITS = ('train', 'val')

_FULL_ID = re.compile(r'COCO_(train|val)2014_(\d{12})')
_NUMERIC_ID = re.compile(r'\d{1,12}')


@DATASETS.register_module()
class COCOClsDataset(VOCClsDataset):
    """MS COCO 2014 for weak supervision: images with multi-hot image-level labels.

    Expects the tree used by WSSS work on COCO, with the instance annotations rendered
    as VOC-style class masks::

        data_root/
          coco2014/
            train2014/COCO_train2014_000000000009.jpg ...   82,783 images
            val2014/COCO_val2014_000000000042.jpg ...       40,504 images
          SegmentationClass/
            train2014/COCO_train2014_000000000009.png ...   uint8 class ids
            val2014/COCO_val2014_000000000042.png ...
          ImageSets/
            train.txt                                       one image id per line
            val.txt

    Masks hold 0 for background, 1..80 for the 80 categories in the order of
    :data:`COCO_CLASSES` and 255 for ignored pixels; any other value is an error
    naming the file. Ids are file names without extension
    (``COCO_train2014_000000000009``). Since the split fixes the prefix, plain numeric
    ids (``9`` or ``000000000009``) are accepted too and expanded to
    ``COCO_<split>2014_<12 digits>``; an id with the other split's prefix is an error.

    Image-level labels come from the masks, scanned once and cached next to the list
    file (see :class:`ImageLabelCache`; the first scan of train2014 reads ~83k PNGs).
    Data info keys are those of :class:`VOCClsDataset`, with ``img_labels`` of shape
    (80,).

    Args:
        data_root (str): Dataset root; must exist.
        split (str): ``'train'`` or ``'val'``: picks the defaults of ``ann_file``
            (``ImageSets/<split>.txt``) and ``data_prefix``
            (``coco2014/<split>2014`` and ``SegmentationClass/<split>2014``), and the
            prefix of numeric ids. Defaults to ``'train'``.
        ann_file (str, optional): Image-id list, relative to ``data_root`` unless
            absolute. Defaults to ``ImageSets/<split>.txt``.
        data_prefix (dict, optional): ``img_path`` and ``seg_map_path`` directories,
            relative to ``data_root`` unless absolute. Defaults as described for
            ``split``.
        **kwargs: Other :class:`VOCClsDataset` arguments (``label_cache``,
            ``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = dict(classes=COCO_CLASSES, palette=voc_palette(len(COCO_CLASSES)))

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in COCO_SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of {COCO_SPLITS}, '
                             f'got {split!r}')
        self.split = split
        if ann_file is None:
            ann_file = f'ImageSets/{split}.txt'
        if data_prefix is None:
            data_prefix = dict(img_path=f'coco2014/{split}2014',
                               seg_map_path=f'SegmentationClass/{split}2014')
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix,
                         **kwargs)

    def normalize_img_id(self, img_id: str) -> str:
        """The file stem of an id: numeric ids get the ``COCO_<split>2014_`` prefix.

        Raises:
            ValueError: If the id carries the other split's prefix.
        """
        full = _FULL_ID.fullmatch(img_id)
        if full is not None:
            if full.group(1) != self.split:
                raise ValueError(
                    f'{type(self).__name__}: image id {img_id!r} in {self.ann_file} belongs '
                    f'to {full.group(1)}2014, but the dataset reads split {self.split!r}')
            return img_id
        if _NUMERIC_ID.fullmatch(img_id):
            return f'COCO_{self.split}2014_{int(img_id):012d}'
        # Anything else is taken as a file stem as it is (e.g. a renamed subset).
        return img_id

    def _read_img_ids(self) -> List[str]:
        return [self.normalize_img_id(img_id) for img_id in super()._read_img_ids()]
