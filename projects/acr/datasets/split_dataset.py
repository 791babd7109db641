"""The dataset of one image list (split) of a config's test dataset."""
import copy
import glob
import os.path as osp
from typing import List, Optional, Tuple

from mmcv.transforms import LoadAnnotations
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, TRANSFORMS

LIST_SUFFIX = '.txt'


def test_dataset_cfg(cfg: Config) -> dict:
    """A copy of the config's test dataset (``test_dataloader``, else ``val_dataloader``)."""
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset'):
            return copy.deepcopy(loader['dataset'])
    raise KeyError('the config has neither test_dataloader.dataset nor val_dataloader.dataset '
                   'to take the dataset from')


def split_dataset_cfg(cfg: Config,
                      split: Optional[str] = None,
                      ann_file: Optional[str] = None,
                      data_root: Optional[str] = None) -> dict:
    """The config's test dataset, switched to another image list.

    Args:
        cfg (Config): Full config with ``test_dataloader.dataset`` (or ``val_dataloader``).
        split (str, optional): List name, e.g. ``'train'``, ``'train_aug'`` or ``'val'``: the
            file ``<split>.txt`` in the directory of the configured ``ann_file`` (VOC:
            ``ImageSets/Segmentation``). Mutually exclusive with ``ann_file``.
        ann_file (str, optional): Image-id list, relative to the data root unless absolute.
        data_root (str, optional): Replaces the dataset's ``data_root``.

    Returns:
        dict: The dataset config. Without ``split`` and ``ann_file`` the configured list is
        kept; with another list, the configured ``indices`` (a subset of the configured
        list, e.g. COCO's 5,000 validation images) are dropped, so the whole list is used.

    Raises:
        FileNotFoundError: The list file does not exist (the message names the lists that
            do).
    """
    if split and ann_file:
        raise ValueError(f'give a split ({split!r}) or an ann_file ({ann_file!r}), not both')
    ds = test_dataset_cfg(cfg)
    if data_root:
        ds['data_root'] = data_root
    if split:
        current = ds.get('ann_file') or osp.join('ImageSets', 'Segmentation', 'x.txt')
        ds['ann_file'] = osp.join(osp.dirname(current), split + LIST_SUFFIX)
        if 'split' in ds:  # COCO: the split also picks the image and mask folders
            ds['split'] = split
    elif ann_file:
        ds['ann_file'] = ann_file
    if (split or ann_file) and ds.pop('indices', None) is not None:
        print_log(f'{ds["ann_file"]}: the whole list is used (the configured indices '
                  'subset the test list)', logger='current')
    path = resolve_ann_file(ds)
    if path is not None and not osp.isfile(path):
        lists = sorted(osp.splitext(osp.basename(p))[0]
                       for p in glob.glob(osp.join(osp.dirname(path), '*' + LIST_SUFFIX)))
        hint = f' (lists there: {", ".join(lists)})' if lists else ''
        raise FileNotFoundError(f'image list of the dataset not found: {path}{hint}')
    return ds


def resolve_ann_file(ds: dict) -> Optional[str]:
    """The image-list path a dataset config reads, joined with its data root."""
    ann_file = ds.get('ann_file')
    if not ann_file:
        return None
    root = ds.get('data_root')
    return ann_file if osp.isabs(ann_file) or not root else osp.join(root, ann_file)


def is_mask_loader(transform: object) -> bool:
    """Whether a pipeline entry (config dict or object) loads segmentation masks.

    Every mask loader of mmcv / mmseg and of this package derives from mmcv's
    ``LoadAnnotations``.
    """
    if isinstance(transform, dict):
        kind = transform.get('type')
        kind = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
        return isinstance(kind, type) and issubclass(kind, LoadAnnotations)
    return isinstance(transform, LoadAnnotations)


def build_split_dataset(cfg: Config,
                        split: Optional[str] = None,
                        ann_file: Optional[str] = None,
                        data_root: Optional[str] = None,
                        load_images: bool = True) -> BaseDataset:
    """Builds the dataset of :func:`split_dataset_cfg`.

    Args:
        cfg (Config): Full config.
        split (str, optional): See :func:`split_dataset_cfg`.
        ann_file (str, optional): See :func:`split_dataset_cfg`.
        data_root (str, optional): See :func:`split_dataset_cfg`.
        load_images (bool): Keep the config's test pipeline, without mask loading (class
            maps and masks are compared later, from files), so items are model inputs;
            False builds the data list only (ids, image and mask paths, labels), with an
            empty pipeline.

    Returns:
        BaseDataset: The dataset.
    """
    ds = split_dataset_cfg(cfg, split, ann_file, data_root)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if load_images:
        ds['pipeline'] = [t for t in ds.get('pipeline', []) if not is_mask_loader(t)]
    else:
        ds['pipeline'] = []
    return DATASETS.build(ds)


def split_items(dataset: BaseDataset) -> List[Tuple[str, str]]:
    """``(img_id, seg_map_path)`` of every image of a dataset, in order."""
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        missing = [k for k in ('img_id', 'seg_map_path') if k not in info]
        if missing:
            raise KeyError(f'{type(dataset).__name__} data info {i} lacks {missing}: masks '
                           'and ids are needed to evaluate')
        items.append((info['img_id'], info['seg_map_path']))
    return items
