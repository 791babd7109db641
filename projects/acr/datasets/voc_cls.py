# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""PASCAL VOC 2012 with image-level labels for weakly supervised segmentation."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from .label_cache import ImageLabelCache, image_labels_from_mask

VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
               'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')


def voc_palette(num_colors: int = 256) -> List[List[int]]:
    """The PASCAL VOC colour map.

    Colour ``i`` spreads the bits of ``i`` over the channels, three at a time, from the
    most significant bit of each channel down: bit 0 -> red, bit 1 -> green, bit 2 -> blue,
    then the next three bits one position lower, and so on.

    Args:
        num_colors (int): Number of colours, at most 256. Defaults to 256.

    Returns:
        list[list[int]]: ``num_colors`` RGB triples.
    """
    if not 0 < num_colors <= 256:
        raise ValueError(f'num_colors must be in 1..256, got {num_colors}')
    ids = np.arange(num_colors)
    rgb = np.zeros((num_colors, 3), dtype=np.int64)
    for level in range(8):
        shift = 7 - level
        for channel in range(3):
            rgb[:, channel] |= ((ids >> (3 * level + channel)) & 1) << shift
    return rgb.tolist()


# The same list under another name: train_aug.txt (WSSS repositories, tools/dataset_converters)
# and trainaug.txt (mmsegmentation's voc_aug.py).
LIST_ALIASES = {'train_aug.txt': 'trainaug.txt', 'trainaug.txt': 'train_aug.txt'}


def list_alias(path: str) -> Optional[str]:
    """The other name of an image list that has two (``train_aug.txt`` / ``trainaug.txt``)."""
    other = LIST_ALIASES.get(osp.basename(path))
    return osp.join(osp.dirname(path), other) if other else None


@DATASETS.register_module()
class VOCClsDataset(BaseDataset):
    """PASCAL VOC 2012 for weak supervision: images with multi-hot image-level labels.

    Expects the standard tree (``SegmentationClassAug`` from the SBD augmentation)::

        data_root/
          JPEGImages/<id>.jpg
          SegmentationClassAug/<id>.png     uint8 class ids, 0 background, 255 ignore
          ImageSets/Segmentation/{train_aug,train,val}.txt

    The image-level labels are derived from the masks on first use and cached (see
    :class:`ImageLabelCache`). Each data sample also carries ``seg_map_path``,
    ``reduce_zero_label`` and ``seg_fields`` so mmseg's ``LoadAnnotations`` can load the
    mask for evaluation.

    Data info keys:
        - img_path (str): Image file.
        - seg_map_path (str): Mask file.
        - img_id (str): Id from the list file.
        - img_labels (np.ndarray): Multi-hot float32 vector of shape (num_classes - 1,)
          over the foreground classes; mask value ``k >= 1`` sets entry ``k - 1``.
        - reduce_zero_label (bool): Always False (0 is a real class, background).
        - seg_fields (list): Empty, filled by ``LoadAnnotations``.

    Args:
        data_root (str): Dataset root; must exist.
        ann_file (str): Image-id list, relative to ``data_root`` unless absolute.
            Defaults to ``'ImageSets/Segmentation/train_aug.txt'``; where a
            ``train_aug.txt`` is missing, ``trainaug.txt`` (mmsegmentation's name) beside
            it is read, and the other way round.
        data_prefix (dict, optional): ``img_path`` and ``seg_map_path`` directories,
            relative to ``data_root`` unless absolute. Defaults to
            ``dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')``.
        img_suffix (str): Image file suffix. Defaults to ``'.jpg'``.
        seg_map_suffix (str): Mask file suffix. Defaults to ``'.png'``.
        label_cache (bool | str): Cache the labels derived from the masks. ``True`` stores
            them next to the list file (or under ``~/.cache/acr_wsss`` when that is read-only),
            a string names the cache directory, ``False`` rescans the masks every time.
            Defaults to True.
        ignore_index (int): Mask value of unlabelled pixels. Defaults to 255.
        metainfo (dict, optional): Overrides of :attr:`METAINFO`.
        pipeline (list): Transforms applied in ``__getitem__``.
        test_mode (bool): Passed to :class:`mmengine.dataset.BaseDataset`.
        lazy_init (bool): Defer loading the data list until first use.
        indices (int | Sequence[int], optional): Keep only a subset of samples.
        serialize_data (bool): Store the data list as one buffer (saves memory in workers).
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    METAINFO = dict(classes=VOC_CLASSES, palette=voc_palette(len(VOC_CLASSES)))

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'ImageSets/Segmentation/train_aug.txt',
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 label_cache: Union[bool, str] = True,
                 ignore_index: int = 255,
                 metainfo: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 **kwargs) -> None:
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(f'{type(self).__name__}: data_root {data_root!r} is not '
                                    'an existing directory')
        if not ann_file:
            raise ValueError(f'{type(self).__name__}: ann_file (the image-id list) is required')
        if data_prefix is None:
            data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')
        for key in ('img_path', 'seg_map_path'):
            if key not in data_prefix:
                raise KeyError(f'{type(self).__name__}: data_prefix lacks the key {key!r} '
                               f'(got {dict(data_prefix)})')
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.label_cache = label_cache
        self.ignore_index = ignore_index
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(data_prefix),
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            indices=indices,
            serialize_data=serialize_data,
            **kwargs)

    @property
    def num_classes(self) -> int:
        """Number of classes including background."""
        return len(self.metainfo['classes'])

    @classmethod
    def labels_from_mask(cls, mask: np.ndarray, num_classes: Optional[int] = None,
                         ignore_index: int = 255) -> np.ndarray:
        """Multi-hot foreground labels of a mask of shape (H, W).

        Args:
            mask (np.ndarray): Integer class ids of shape (H, W).
            num_classes (int, optional): Classes including background. Defaults to the
                number of classes in :attr:`METAINFO`.
            ignore_index (int): Value of unlabelled pixels. Defaults to 255.

        Returns:
            np.ndarray: float32 vector of shape (num_classes - 1,).
        """
        if num_classes is None:
            num_classes = len(cls.METAINFO['classes'])
        return image_labels_from_mask(mask, num_classes, ignore_index)

    def _read_img_ids(self) -> List[str]:
        alias = list_alias(self.ann_file)
        if not osp.isfile(self.ann_file) and alias and osp.isfile(alias):
            print_log(f'{type(self).__name__}: {self.ann_file} not found, reading {alias}',
                      'current')
            self.ann_file = alias
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: image-id list (ann_file) not '
                                    f'found: {self.ann_file}')
        with open(self.ann_file, encoding='utf-8') as f:
            img_ids = [line.strip() for line in f]
        img_ids = [img_id for img_id in img_ids if img_id]
        if not img_ids:
            raise ValueError(f'{type(self).__name__}: image-id list {self.ann_file} is empty')
        return img_ids

    def load_data_list(self) -> List[dict]:
        """One data info per id of ``ann_file``; see the class docstring for the keys."""
        img_ids = self._read_img_ids()
        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix['seg_map_path']
        for key, path in (('img_path', img_dir), ('seg_map_path', seg_dir)):
            if not osp.isdir(path):
                raise FileNotFoundError(f'{type(self).__name__}: data_prefix[{key!r}] '
                                        f'directory not found: {path}')
        seg_paths = [osp.join(seg_dir, img_id + self.seg_map_suffix) for img_id in img_ids]

        cache_dir = self.label_cache if isinstance(self.label_cache, str) else None
        cache = ImageLabelCache(
            self.ann_file, seg_dir, self.num_classes, self.ignore_index, cache_dir=cache_dir)
        labels = cache.get(img_ids, seg_paths, use_cache=bool(self.label_cache))

        return [
            dict(
                img_path=osp.join(img_dir, img_id + self.img_suffix),
                seg_map_path=seg_path,
                img_id=img_id,
                img_labels=img_labels,
                reduce_zero_label=False,
                seg_fields=[])
            for img_id, seg_path, img_labels in zip(img_ids, seg_paths, labels)
        ]
