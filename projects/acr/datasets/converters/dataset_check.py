"""Checks the data a config reads: counts, files present and readable, values, sizes.

For every dataset of a config (the train, val and test loaders', or the lists named by
``splits``), :class:`DatasetChecker` reads every listed image and mask once and reports:

- the number of listed ids against the canonical one (VOC train_aug 10,582, train 1,464,
  val 1,449; COCO train 82,081, val 40,137, val_5000 5,000; the toy dataset's recorded
  numbers), and for VOC the number of masks in ``SegmentationClassAug`` (12,031);
- ids listed twice, images and masks missing or unreadable (decoded in full), mask values
  outside the classes and the ignore index, masks whose size is not their image's;
- how many images hold each class (the image-level labels the masks give).

:func:`format_reports` renders the tables; a report's ``ok`` says whether it passed.
"""
import copy
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image, UnidentifiedImageError
from prettytable import PrettyTable

from ..coco_cls import COCOClsDataset
from ..label_cache import image_labels_from_mask
from ..label_mask import read_label_mask
from ..toy_cls import ToyClsDataset
from ..voc_cls import VOCClsDataset
from .task_pool import TaskPool

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
CANONICAL_LISTS = {
    'voc': {'train_aug': 10582, 'trainaug': 10582, 'train': 1464, 'val': 1449},
    'coco': {'train': 82081, 'val': 40137, 'val_5000': 5000},
}
VOC_MASK_FILES = 12031
# Dataset settings that do not change which files are read (every listed id is checked).
_NOT_FILES = ('pipeline', 'indices', 'test_mode', 'lazy_init', 'serialize_data')
PROBLEMS = ('duplicate ids', 'missing images', 'unreadable images', 'missing masks',
            'unreadable masks', 'bad mask values', 'size mismatches')
_COLUMNS = dict(zip(PROBLEMS, ('dup ids', 'no image', 'bad image', 'no mask', 'bad mask',
                               'bad values', 'size diff')))


@dataclass
class DatasetReport:
    """The check of one dataset (one image list).

    Attributes:
        name (str): Where it comes from (``'train_dataloader'``, or the split name).
        dataset_type (str): The dataset class.
        ann_file (str): The list file read.
        num_ids (int): Ids in the list.
        canonical (int, optional): The canonical number of ids, when known.
        counts (list): ``(what, found, canonical)`` rows of the count table.
        problems (dict): Problem kind (:data:`PROBLEMS`) -> messages naming the files.
        class_names (list): Foreground class names.
        class_images (np.ndarray): (num_classes - 1,) images holding each class.
        error (str, optional): Why the dataset could not be read at all.
        check_counts (bool): Whether a count that differs fails the check.
    """

    name: str
    dataset_type: str = ''
    ann_file: str = ''
    num_ids: int = 0
    canonical: Optional[int] = None
    counts: List[Tuple[str, int, Optional[int]]] = field(default_factory=list)
    problems: Dict[str, List[str]] = field(default_factory=lambda: {k: [] for k in PROBLEMS})
    class_names: List[str] = field(default_factory=list)
    class_images: Optional[np.ndarray] = None
    error: Optional[str] = None
    check_counts: bool = True

    @property
    def count_mismatches(self) -> List[str]:
        return [f'{what}: {found:,}, canonical {want:,}' for what, found, want in self.counts
                if want is not None and found != want]

    @property
    def ok(self) -> bool:
        if self.error or any(self.problems.values()):
            return False
        return not (self.check_counts and self.count_mismatches)

    def first_bad(self, limit: int = 10) -> List[str]:
        """Messages of the first bad files (and count mismatches), at most ``limit``."""
        out = [] if self.error is None else [self.error]
        if self.check_counts:
            out += self.count_mismatches
        for kind in PROBLEMS:
            out += [f'{kind}: {m}' for m in self.problems[kind]]
        return out[:limit]


ItemResult = Tuple[int, List[Tuple[str, str]], Optional[np.ndarray]]


def check_item(task: Tuple[int, str, str, int, int]) -> ItemResult:
    """Worker task: one image and its mask.

    Args:
        task (tuple): ``(index, img_path, mask_path, num_classes, ignore_index)``.

    Returns:
        tuple: The index, ``(problem kind, message)`` pairs, and the multi-hot labels of
        the mask (None when it could not be read).
    """
    index, img_path, mask_path, num_classes, ignore_index = task
    problems: List[Tuple[str, str]] = []
    img_size = None
    if not osp.isfile(img_path):
        problems.append(('missing images', img_path))
    else:
        try:
            with Image.open(img_path) as img:
                img.load()  # decodes everything: truncated files fail here
                img_size = (img.height, img.width)
        except (OSError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError) as e:
            problems.append(('unreadable images', f'{img_path}: {e}'))
    labels = None
    if not osp.isfile(mask_path):
        problems.append(('missing masks', mask_path))
        return index, problems, labels
    try:
        mask = read_label_mask(mask_path)
    except (OSError, ValueError, SyntaxError) as e:
        problems.append(('unreadable masks', str(e)))
        return index, problems, labels
    try:
        labels = image_labels_from_mask(mask, num_classes, ignore_index, source=mask_path)
    except ValueError as e:
        problems.append(('bad mask values', str(e)))
    if img_size is not None and mask.shape[:2] != img_size:
        problems.append(('size mismatches', f'{mask_path}: mask {mask.shape[0]}x'
                         f'{mask.shape[1]}, image {img_size[0]}x{img_size[1]} ({img_path})'))
    return index, problems, labels


def _unwrap(ds_cfg: dict) -> dict:
    # Dataset wrappers (RepeatDataset, ClassBalancedDataset, ...) hold the real one.
    while isinstance(ds_cfg, dict) and 'dataset' in ds_cfg and 'ann_file' not in ds_cfg:
        ds_cfg = ds_cfg['dataset']
    return ds_cfg


def split_cfg(ds_cfg: dict, split: str) -> dict:
    """A dataset config switched to the list ``<split>.txt`` beside its own list."""
    ds_cfg = copy.deepcopy(ds_cfg)
    current = ds_cfg.get('ann_file') or osp.join('ImageSets', 'Segmentation', 'x.txt')
    ds_cfg['ann_file'] = osp.join(osp.dirname(current), split + '.txt')
    ds_cfg.pop('indices', None)
    if 'split' in ds_cfg or _dataset_class(ds_cfg) is COCOClsDataset:
        # COCO: the split picks the image and mask folders (val_5000 is a val list).
        ds_cfg['split'] = 'val' if split.startswith('val') else 'train'
    return ds_cfg


def _dataset_class(ds_cfg: dict) -> Optional[type]:
    kind = ds_cfg.get('type')
    return DATASETS.get(kind) if isinstance(kind, str) else kind


class DatasetChecker:
    """Checks the datasets of a config; see the module docstring.

    Args:
        cfg (Config): The config.
        splits (Sequence[str], optional): List names (``train_aug``, ``val``, ...) read
            with the test dataset's settings; by default the train, val and test loaders'
            datasets are checked.
        workers (int): Worker processes reading the files. Defaults to 1.
        check_counts (bool): Fail on counts that differ from the canonical ones. Defaults
            to True.
        progress (bool): Show progress bars. Defaults to True.
    """

    def __init__(self, cfg: Config, splits: Optional[Sequence[str]] = None, workers: int = 1,
                 check_counts: bool = True, progress: bool = True) -> None:
        self.cfg = cfg
        self.splits = list(splits or [])
        self.workers = workers
        self.check_counts = check_counts
        self.progress = progress

    def dataset_cfgs(self) -> List[Tuple[str, dict]]:
        """``(name, dataset config)`` pairs to check, without duplicates."""
        found = []
        for key in LOADERS:
            loader = self.cfg.get(key)
            if loader and loader.get('dataset'):
                ds_cfg = loader['dataset']
                ds_cfg = ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else dict(ds_cfg)
                found.append((key, _unwrap(copy.deepcopy(ds_cfg))))
        if not found:
            raise KeyError('the config has no train/val/test_dataloader.dataset to check')
        if self.splits:
            test_like = found[-1][1]
            found = [(split, split_cfg(test_like, split)) for split in self.splits]
        out, seen = [], set()
        for name, ds_cfg in found:
            key = json.dumps({k: v for k, v in ds_cfg.items() if k not in _NOT_FILES},
                             sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                out.append((name, ds_cfg))
        return out

    def run(self) -> List[DatasetReport]:
        """Checks every dataset; returns their reports."""
        init_default_scope(self.cfg.get('default_scope', 'mmseg'))
        with TaskPool(self.workers) as pool:
            return [self.check(name, ds_cfg, pool) for name, ds_cfg in self.dataset_cfgs()]

    def _items(self, ds_cfg: dict) -> Tuple[object, List[str], List[str], List[str]]:
        """Builds the dataset and lists its ids, image and mask paths."""
        cls = _dataset_class(ds_cfg)
        build = dict(ds_cfg, pipeline=[])
        if isinstance(cls, type) and issubclass(cls, VOCClsDataset):
            # Without reading the masks (the dataset would stop at the first bad one).
            build.update(lazy_init=True, label_cache=False)
            build.pop('indices', None)
            dataset = DATASETS.build(build)
            ids = dataset._read_img_ids()
            img_dir, seg_dir = dataset.data_prefix['img_path'], dataset.data_prefix['seg_map_path']
            imgs = [osp.join(img_dir, i + dataset.img_suffix) for i in ids]
            masks = [osp.join(seg_dir, i + dataset.seg_map_suffix) for i in ids]
            return dataset, ids, imgs, masks
        build.pop('indices', None)
        dataset = DATASETS.build(build)
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        missing = [k for k in ('img_path', 'seg_map_path') if infos and k not in infos[0]]
        if missing:
            raise KeyError(f'{type(dataset).__name__} items lack {missing}: cannot check masks')
        imgs = [d['img_path'] for d in infos]
        masks = [d['seg_map_path'] for d in infos]
        ids = [d.get('img_id', osp.splitext(osp.basename(p))[0]) for d, p in zip(infos, imgs)]
        return dataset, ids, imgs, masks

    def _canonical(self, dataset: object, list_name: str) -> Tuple[Optional[int], list]:
        """The canonical id count of a list, and extra count rows (VOC's mask folder)."""
        if isinstance(dataset, ToyClsDataset):
            from ...toy_data import read_complete_marker
            marker = read_complete_marker(dataset.data_root) or {}
            params = marker.get('params', {})
            want = {'train_aug': params.get('num_train'), 'train': params.get('num_train'),
                    'val': params.get('num_val')}
            return want.get(list_name), []
        if isinstance(dataset, COCOClsDataset):
            return CANONICAL_LISTS['coco'].get(list_name), []
        if type(dataset) is VOCClsDataset:
            seg_dir = dataset.data_prefix['seg_map_path']
            extra = []
            if osp.basename(osp.normpath(seg_dir)) == 'SegmentationClassAug' and \
                    osp.isdir(seg_dir):
                with os.scandir(seg_dir) as it:
                    n = sum(1 for e in it if e.name.endswith('.png'))
                extra.append((f'masks in {seg_dir}', n, VOC_MASK_FILES))
            return CANONICAL_LISTS['voc'].get(list_name), extra
        return None, []

    def check(self, name: str, ds_cfg: dict, pool: TaskPool) -> DatasetReport:
        """Checks one dataset config."""
        report = DatasetReport(name=name, dataset_type=str(ds_cfg.get('type')),
                               ann_file=str(ds_cfg.get('ann_file')),
                               check_counts=self.check_counts)
        try:
            dataset, ids, imgs, masks = self._items(ds_cfg)
        except (OSError, ValueError, KeyError) as e:
            report.error = f'{name}: cannot read the dataset: {e}'
            return report
        report.dataset_type = type(dataset).__name__
        report.ann_file = getattr(dataset, 'ann_file', report.ann_file)
        report.num_ids = len(ids)
        classes = list(dataset.metainfo.get('classes', ()))
        num_classes = len(classes)
        ignore_index = int(ds_cfg.get('ignore_index', getattr(dataset, 'ignore_index', 255)))
        report.class_names = classes[1:]
        list_name = osp.splitext(osp.basename(report.ann_file))[0]
        report.canonical, extra = self._canonical(dataset, list_name)
        report.counts = [(f'ids in {list_name}.txt', len(ids), report.canonical)] + extra

        seen: Dict[str, int] = {}
        for i, img_id in enumerate(ids):
            if img_id in seen:
                report.problems['duplicate ids'].append(
                    f'{img_id!r} on lines {seen[img_id] + 1} and {i + 1} of {report.ann_file}')
            else:
                seen[img_id] = i
        class_images = np.zeros(max(num_classes - 1, 0), np.int64)
        tasks = ((i, imgs[i], masks[i], num_classes, ignore_index) for i in range(len(ids)))
        results = sorted(pool.map(check_item, tasks, total=len(ids), desc=f'checking {name}',
                                  unit='img', progress=self.progress), key=lambda r: r[0])
        for _, problems, labels in results:
            for kind, message in problems:
                report.problems[kind].append(message)
            if labels is not None:
                class_images += labels.astype(np.int64)
        report.class_images = class_images
        return report


def format_reports(reports: Sequence[DatasetReport], limit: int = 10) -> str:
    """The summary table, the per-class table and the first bad files of each dataset."""
    summary = PrettyTable(['dataset', 'type', 'list', 'ids', 'canonical'] +
                          [_COLUMNS[p] for p in PROBLEMS] + ['status'])
    for r in reports:
        summary.add_row([r.name, r.dataset_type, r.ann_file, f'{r.num_ids:,}',
                         '-' if r.canonical is None else f'{r.canonical:,}'] +
                        [len(r.problems[p]) for p in PROBLEMS] +
                        ['ok' if r.ok else 'FAILED'])
    parts = [summary.get_string()]
    extra = list(dict.fromkeys(row for r in reports for row in r.counts[1:]))
    if extra:
        counts = PrettyTable(['count', 'found', 'canonical'])
        for what, found, want in extra:
            counts.add_row([what, f'{found:,}', '-' if want is None else f'{want:,}'])
        parts.append(counts.get_string())
    with_classes = [r for r in reports if r.class_images is not None and r.class_names]
    if with_classes:
        table = PrettyTable(['class'] + [f'images in {r.name}' for r in with_classes])
        for k, cls in enumerate(with_classes[0].class_names):
            table.add_row([cls] + [int(r.class_images[k]) if k < len(r.class_images) else '-'
                                   for r in with_classes])
        table.align['class'] = 'l'
        parts.append(table.get_string())
    for r in reports:
        bad = r.first_bad(limit)
        if bad:
            parts.append(f'{r.name}: first problems:\n' + '\n'.join(f'  {m}' for m in bad))
        elif r.count_mismatches:
            parts.append(f'{r.name}: counts differ (not checked): ' +
                         '; '.join(r.count_mismatches))
    return '\n'.join(parts)
