"""The images pseudo labels are made for: ids, image files and the list they come from.

Either from a config (its training dataset, or another list of its test dataset, read by
the dataset class itself, which knows its tree) or from a VOC-style tree given directly.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config

from ..datasets.split_dataset import build_split_dataset, split_dataset_cfg
from ..utils.sharded_job import image_id

DEFAULT_ANN_FILE = 'ImageSets/Segmentation/train_aug.txt'
DEFAULT_IMG_DIR = 'JPEGImages'
DEFAULT_IMG_SUFFIX = '.jpg'


@dataclass
class LabelImages:
    """The image list of a pseudo-label job.

    Attributes:
        ids (list[str]): N image ids, naming the class-map and label files.
        img_files (list[str]): N image paths, read for the size check and the CRF.
        ann_file (str): The list file they come from (for messages).
    """

    ids: List[str]
    img_files: List[str]
    ann_file: str

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.img_files):
            raise ValueError(f'{len(self.ids)} ids but {len(self.img_files)} image files')
        if not self.ids:
            raise ValueError(f'image-id list is empty: {self.ann_file}')

    def __len__(self) -> int:
        return len(self.ids)


def _under(root: Optional[str], path: str) -> str:
    return path if osp.isabs(path) or not root else osp.join(root, path)


def train_dataset_cfg(cfg: Config) -> Tuple[Dict[str, Any], str]:
    """``train_dataloader.dataset`` with wrappers (``RepeatDataset``, ...) removed.

    Returns:
        tuple: The dataset config and the key path it was found under.

    Raises:
        KeyError: There is no training dataset, or it has no ``ann_file`` (e.g. a
            concatenation of datasets), naming the key.
    """
    where = 'train_dataloader'
    loader = cfg.get(where)
    if loader is None or 'dataset' not in loader:
        raise KeyError(f'{cfg.filename}: no {where}.dataset')
    dataset, where = loader['dataset'], where + '.dataset'
    while 'ann_file' not in dataset and 'dataset' in dataset:
        dataset, where = dataset['dataset'], where + '.dataset'
    if 'ann_file' not in dataset:
        raise KeyError(f'{cfg.filename}: {where} has no ann_file (concatenated datasets are '
                       'not supported here; give the data root and the list directly)')
    return dataset, where


def images_from_tree(data_root: Optional[str],
                     ann_file: str = DEFAULT_ANN_FILE,
                     img_dir: str = DEFAULT_IMG_DIR,
                     img_suffix: str = DEFAULT_IMG_SUFFIX) -> LabelImages:
    """The images of a VOC-style list file: ``<img_dir>/<id><img_suffix>``.

    Args:
        data_root (str, optional): Root that relative paths are joined with.
        ann_file (str): Image-id list; one id per line, extra columns ignored.
        img_dir (str): Image directory.
        img_suffix (str): Image file suffix.

    Raises:
        FileNotFoundError: The root, the list or the image directory does not exist.
        ValueError: The list is empty.
    """
    if data_root and not osp.isdir(data_root):
        raise FileNotFoundError(f'data root is not a directory: {data_root}')
    ann_path, img_path = _under(data_root, ann_file), _under(data_root, img_dir)
    if not osp.isfile(ann_path):
        raise FileNotFoundError(f'image-id list (ann_file) not found: {ann_path}')
    if not osp.isdir(img_path):
        raise FileNotFoundError(f'image directory not found: {img_path}')
    with open(ann_path, encoding='utf-8') as f:
        ids = [line.split()[0] for line in f if line.strip()]
    return LabelImages(ids, [osp.join(img_path, i + img_suffix) for i in ids], ann_path)


def images_from_config(cfg: Config,
                       split: Optional[str] = None,
                       ann_file: Optional[str] = None,
                       data_root: Optional[str] = None,
                       img_dir: Optional[str] = None,
                       img_suffix: Optional[str] = None) -> LabelImages:
    """The images of a config's training dataset, or of another list with ``split``.

    Without ``img_dir`` and ``img_suffix`` the config's dataset class reads the list, so
    its own tree and id forms (COCO's split folders, ...) apply. With either of them the
    list is read as a VOC-style tree whose unspecified parts come from the dataset.

    Args:
        cfg (Config): Full config, loaded once by the caller (with its overrides).
        split (str, optional): A list next to the test list (``train_aug``, ``train``,
            ...), as in :func:`split_dataset_cfg`; default: the training list.
        ann_file (str, optional): Replaces the list file.
        data_root (str, optional): Replaces the data root.
        img_dir (str, optional): Replaces the image directory.
        img_suffix (str, optional): Replaces the image suffix.

    Returns:
        LabelImages: The images in list order.
    """
    if split:
        dataset = split_dataset_cfg(cfg, split=split, data_root=data_root)
    else:
        dataset, _ = train_dataset_cfg(cfg)
    if img_dir is None and img_suffix is None:
        # Without --split the training dataset is meant, with its own root and list.
        built = build_split_dataset(
            cfg, split=split,
            ann_file=ann_file or (None if split else dataset['ann_file']),
            data_root=data_root or (None if split else dataset.get('data_root')),
            load_images=False)
        infos = [built.get_data_info(i) for i in range(len(built))]
        return LabelImages([image_id(i) for i in infos], [i['img_path'] for i in infos],
                           built.ann_file)
    prefix = dataset.get('data_prefix') or {}
    return images_from_tree(
        data_root if data_root is not None else dataset.get('data_root'),
        ann_file=ann_file or dataset['ann_file'],
        img_dir=img_dir if img_dir is not None else prefix.get('img_path', DEFAULT_IMG_DIR),
        img_suffix=(img_suffix if img_suffix is not None else
                    dataset.get('img_suffix', DEFAULT_IMG_SUFFIX)))
