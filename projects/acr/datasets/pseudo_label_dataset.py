# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Training images paired with stage-1 pseudo labels from another directory, read in place."""
import os
import os.path as osp
from typing import List, Optional

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .ground_truth_guard import check_not_ground_truth


@DATASETS.register_module()
class PseudoLabelSegDataset(BaseSegDataset):
    """mmseg's ``BaseSegDataset`` over a split file, with labels from a pseudo-label dir.

    Images come from ``data_root/data_prefix['img_path']`` and the labels from
    ``pseudo_label_dir/<img_id><seg_map_suffix>`` (VOC-style PNGs: class ids, 255 ignored,
    as written by ``tools/make_pseudo_labels.py``). Nothing is copied. Unlike the entries
    of ``data_prefix``, ``pseudo_label_dir`` is *not* joined with ``data_root``: a relative
    path is taken from the working directory, like the ``work_dirs/...`` it normally
    points to.

    Every image of the split must have its label: a missing one is reported when the
    dataset is built, naming the directory and the first missing ids, instead of failing
    at some iteration of a long run.

    Data info keys are those of ``BaseSegDataset``: ``img_path``, ``seg_map_path``,
    ``label_map``, ``reduce_zero_label`` and ``seg_fields``.

    Args:
        pseudo_label_dir (str): Directory of ``<img_id>.png`` pseudo labels.
        ann_file (str): Split file, one image id (file stem) per line; relative to
            ``data_root`` unless absolute.
        img_suffix (str): Image file suffix. Defaults to ``'.jpg'``.
        seg_map_suffix (str): Label file suffix. Defaults to ``'.png'``.
        data_prefix (dict): ``img_path``, the image directory, relative to ``data_root``
            unless absolute. ``seg_map_path`` is not allowed (use ``pseudo_label_dir``).
            Defaults to ``dict(img_path='JPEGImages')``.
        **kwargs: Other ``BaseSegDataset`` arguments (``data_root``, ``metainfo`` with the
            class names, ``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    def __init__(self,
                 pseudo_label_dir: str,
                 ann_file: str,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        data_prefix = dict(img_path='JPEGImages') if data_prefix is None else dict(data_prefix)
        if data_prefix.get('seg_map_path'):
            raise ValueError(
                f'{type(self).__name__}: data_prefix.seg_map_path='
                f'{data_prefix["seg_map_path"]!r} is not used; the labels come from '
                'pseudo_label_dir')
        if not ann_file:
            raise ValueError(f'{type(self).__name__}: ann_file (the split file listing the '
                             'training images) is required')
        if not pseudo_label_dir:
            raise ValueError(f'{type(self).__name__}: pseudo_label_dir is required')
        # Absolute, so that BaseSegDataset does not join it with data_root.
        self.pseudo_label_dir = osp.abspath(pseudo_label_dir)
        data_prefix['seg_map_path'] = self.pseudo_label_dir
        super().__init__(ann_file=ann_file, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Reads the split file and checks that every listed image has its pseudo label.

        Raises:
            FileNotFoundError: If the split file, the image directory or the pseudo-label
                directory is missing, or if some listed images have no label.
        """
        name = type(self).__name__
        check_not_ground_truth(self.pseudo_label_dir, self.data_root,
                               f'{name} pseudo_label_dir')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{name}: split file {self.ann_file} not found')
        img_dir = self.data_prefix['img_path']
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{name}: image directory {img_dir} not found')
        if not osp.isdir(self.pseudo_label_dir):
            raise FileNotFoundError(
                f'{name}: pseudo-label directory {self.pseudo_label_dir} not found; make '
                'the labels first (tools/make_pseudo_labels.py --out-dir DIR) or point '
                'train_dataloader.dataset.pseudo_label_dir at them')
        data_list = super().load_data_list()
        # One directory listing instead of one stat per image: cheap on 100k files.
        present = set(os.listdir(self.pseudo_label_dir))
        missing = [info['seg_map_path'] for info in data_list
                   if osp.basename(info['seg_map_path']) not in present]
        if missing:
            first = ', '.join(osp.basename(p) for p in missing[:5])
            raise FileNotFoundError(
                f'{name}: {len(missing)} of the {len(data_list)} images listed in '
                f'{self.ann_file} have no pseudo label in {self.pseudo_label_dir} '
                f'(first: {first}); was the pseudo-label run interrupted?')
        return data_list
