"""Training images paired with their two CRF label maps, for AffinityNet."""
import os
import os.path as osp
from typing import List, Optional

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..datasets.ground_truth_guard import check_not_ground_truth


@DATASETS.register_module()
class AffinityLabelDataset(BaseSegDataset):
    """Images of a split file with the CRF labels AffinityNet learns from.

    Give either the two CRF label directories of PSA's recipe, ``low_label_dir`` (low
    alpha, confident foreground) and ``high_label_dir`` (high alpha, confident background),
    or ``label_dir``, the combined pseudo labels of ``tools/make_pseudo_labels.py`` (agreed
    label, 255 where the two CRF maps disagree), which give the same affinity labels up to
    a few pixels (see :mod:`.affinity_labels`). Label files are ``<img_id><label_suffix>``
    class-id PNGs. Label directories are taken as given (relative to the working
    directory, not to ``data_root``), like ``work_dirs/...``.

    Every image of the split must have its labels; missing ones are reported when the
    dataset is built, naming the directory and the first missing ids.

    Data info keys: ``img_path``, ``img_id``, ``seg_map_path`` (the low-alpha or combined
    labels), ``seg_map_path_high`` (None with combined labels), ``seg_fields``,
    ``reduce_zero_label``, ``label_map``.

    Args:
        ann_file (str): Split file, one image id per line; relative to ``data_root``
            unless absolute.
        label_dir (str, optional): Combined pseudo labels.
        low_label_dir (str, optional): Low-alpha CRF labels.
        high_label_dir (str, optional): High-alpha CRF labels.
        img_suffix (str): Defaults to ``'.jpg'``.
        label_suffix (str): Defaults to ``'.png'``.
        data_prefix (dict, optional): ``img_path`` relative to ``data_root``. Defaults to
            ``dict(img_path='JPEGImages')``.
        **kwargs: Other ``BaseSegDataset`` arguments (``data_root``, ``metainfo``,
            ``pipeline``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 label_dir: Optional[str] = None,
                 low_label_dir: Optional[str] = None,
                 high_label_dir: Optional[str] = None,
                 img_suffix: str = '.jpg',
                 label_suffix: str = '.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        name = type(self).__name__
        if label_dir and (low_label_dir or high_label_dir):
            raise ValueError(f'{name}: give label_dir (combined pseudo labels) or '
                             'low_label_dir + high_label_dir (the two CRF maps), not both')
        if not label_dir and not (low_label_dir and high_label_dir):
            raise ValueError(f'{name}: needs label_dir, or both low_label_dir and '
                             f'high_label_dir (got low={low_label_dir!r}, '
                             f'high={high_label_dir!r})')
        if not ann_file:
            raise ValueError(f'{name}: ann_file (the split file) is required')
        self.label_dirs = [osp.abspath(d) for d in
                           ((label_dir,) if label_dir else (low_label_dir, high_label_dir))]
        self.label_suffix = label_suffix
        super().__init__(ann_file=ann_file, img_suffix=img_suffix, seg_map_suffix=label_suffix,
                         data_prefix=data_prefix or dict(img_path='JPEGImages'), **kwargs)

    def load_data_list(self) -> List[dict]:
        """Reads the split and checks that every image has its label maps.

        Raises:
            FileNotFoundError: The split file, the image or a label directory is missing,
                or some images have no labels.
        """
        name = type(self).__name__
        for d, key in zip(self.label_dirs, (('label_dir', ) if len(self.label_dirs) == 1
                                            else ('low_label_dir', 'high_label_dir'))):
            check_not_ground_truth(d, self.data_root, f'{name} {key}')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{name}: split file {self.ann_file} not found')
        img_dir = self.data_prefix['img_path']
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{name}: image directory {img_dir} not found')
        with open(self.ann_file, encoding='utf-8') as f:
            ids = [line.strip() for line in f if line.strip()]
        for d in self.label_dirs:
            if not osp.isdir(d):
                raise FileNotFoundError(f'{name}: label directory {d} not found; make the '
                                        'CRF labels first (tools/make_pseudo_labels.py)')
            present = set(os.listdir(d))
            missing = [i for i in ids if i + self.label_suffix not in present]
            if missing:
                raise FileNotFoundError(
                    f'{name}: {len(missing)} of the {len(ids)} images of {self.ann_file} '
                    f'have no label in {d} (first: {", ".join(missing[:5])})')
        high_dir = self.label_dirs[1] if len(self.label_dirs) > 1 else None
        return [dict(img_path=osp.join(img_dir, i + self.img_suffix), img_id=i,
                     seg_map_path=osp.join(self.label_dirs[0], i + self.label_suffix),
                     seg_map_path_high=(osp.join(high_dir, i + self.label_suffix)
                                        if high_dir else None),
                     label_map=self.label_map, reduce_zero_label=self.reduce_zero_label,
                     seg_fields=[]) for i in ids]
