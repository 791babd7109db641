"""COCO 2014 instance annotations -> the class-mask tree WSSS methods train on.

From ``instances_train2014.json`` / ``instances_val2014.json`` (a folder holding them, or
``annotations_trainval2014.zip``), :class:`COCOWSSSConverter` writes under the data root::

    SegmentationClass/train2014/COCO_train2014_<12 digits>.png    one per image of the json
    SegmentationClass/val2014/COCO_val2014_<12 digits>.png
    ImageSets/train.txt       images with at least one non-crowd instance, by image id
    ImageSets/val.txt
    ImageSets/val_5000.txt    the first 5,000 ids of val.txt

The masks are rendered by :func:`render_class_mask` (class ids, crowd regions and the
overlap rule are described in :mod:`.coco_masks`). The images themselves
(``coco2014/{train2014,val2014}/``) come from COCO's image zips, unchanged.

The run is resumable: masks already written are skipped. ``.coco_wsss.json`` in the root
records the overlap rule, and a resumed run with another rule is refused.
"""
import json
import os
import os.path as osp
import time
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from ...utils.run_settings import check_recorded_settings
from .class_masks import save_label_png
from .coco_masks import DEFAULT_OVERLAP, OVERLAP_RULES, Instance, category_map, render_class_mask
from .dataset_input import ArchiveError
from .id_lists import write_id_list
from .task_pool import TaskPool

SPLITS = ('train', 'val')
MASK_DIR = 'SegmentationClass'
LIST_DIR = 'ImageSets'
VAL_SUBSET = 5000
# The lists WSSS papers use (their rule is not published).
PAPER_COUNTS = {'train': 82081, 'val': 40137}
RECORD_FILE = '.coco_wsss.json'


def annotation_file_name(split: str) -> str:
    return f'instances_{split}2014.json'


def load_instances(annotations: str, split: str) -> Tuple[dict, str]:
    """The instances json of a split, from a folder or the annotations zip.

    Args:
        annotations (str): A folder with ``instances_<split>2014.json`` (directly or in
            ``annotations/``), or ``annotations_trainval2014.zip``.
        split (str): ``'train'`` or ``'val'``.

    Returns:
        tuple: The parsed json and its name for messages.
    """
    name = annotation_file_name(split)
    if osp.isfile(annotations) and annotations.lower().endswith('.zip'):
        try:
            with zipfile.ZipFile(annotations) as zf:
                members = [m for m in zf.namelist() if osp.basename(m) == name]
                if not members:
                    raise FileNotFoundError(f'{annotations} holds no {name}')
                source = f'{annotations}:{members[0]}'
                with zf.open(members[0]) as f:
                    data = f.read()
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise ArchiveError(f'cannot read the archive {annotations} (truncated or '
                               f'corrupt? download it again): {e}') from e
    elif osp.isdir(annotations):
        candidates = [osp.join(annotations, name), osp.join(annotations, 'annotations', name)]
        found = [c for c in candidates if osp.isfile(c)]
        if not found:
            raise FileNotFoundError(f'{name} not found in {annotations} nor in its '
                                    'annotations/ folder')
        source = found[0]
        with open(source, 'rb') as f:
            data = f.read()
    else:
        raise FileNotFoundError(f'COCO annotations: {annotations} is neither a folder nor a '
                                '.zip file')
    try:
        instances = json.loads(data)
    except ValueError as e:
        raise ValueError(f'{source}: not valid JSON (truncated?): {e}') from e
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(instances, dict) or not isinstance(instances.get(key), list):
            raise ValueError(f'{source}: no "{key}" list; is this a COCO instances file?')
    return instances, source


@dataclass
class COCOImage:
    """One image of a split and its annotations."""

    image_id: int
    stem: str
    height: int
    width: int
    instances: List[Instance] = field(default_factory=list)

    @property
    def has_object(self) -> bool:
        """Whether it has at least one non-crowd instance (the list rule)."""
        return any(not crowd for _, crowd, _ in self.instances)


def index_images(instances: dict, source: str, split: str) -> List[COCOImage]:
    """The images of a json with their instances (class ids mapped), sorted by image id."""
    cats = category_map(instances['categories'], source)
    images: Dict[int, COCOImage] = {}
    for img in instances['images']:
        try:
            image_id, file_name = int(img['id']), str(img['file_name'])
            height, width = int(img['height']), int(img['width'])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f'{source}: image entry {img!r:.120} lacks id / file_name / '
                             f'height / width: {e}') from e
        stem = osp.splitext(osp.basename(file_name))[0]
        if not stem.startswith(f'COCO_{split}2014_'):
            raise ValueError(f'{source}: image {image_id} is {file_name!r}, not a '
                             f'COCO_{split}2014_* file: is this the {split} json?')
        images[image_id] = COCOImage(image_id, stem, height, width)
    for ann in instances['annotations']:
        try:
            ann_id, image_id, cat = ann.get('id'), int(ann['image_id']), int(ann['category_id'])
            crowd, segmentation = bool(ann.get('iscrowd', 0)), ann['segmentation']
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f'{source}: annotation {ann!r:.120} lacks image_id / '
                             f'category_id / segmentation: {e}') from e
        if image_id not in images:
            raise ValueError(f'{source}: annotation {ann_id} refers to image {image_id}, '
                             'which is not in "images"')
        if cat not in cats:
            raise ValueError(f'{source}: annotation {ann_id} has category {cat}, which is not '
                             'in "categories"')
        images[image_id].instances.append((cats[cat], crowd, segmentation))
    return [images[i] for i in sorted(images)]


def write_coco_mask(task: Tuple[str, int, int, List[Instance], str, str]) -> Tuple[bool, bool]:
    """Worker task: renders and writes one image's mask.

    Args:
        task (tuple): ``(out_file, height, width, instances, overlap, source)``.

    Returns:
        tuple: Whether the mask has foreground pixels, and whether it has ignored ones.
    """
    out_file, height, width, instances, overlap, source = task
    mask = render_class_mask(height, width, instances, overlap, source)
    save_label_png(out_file, mask)
    return bool(((mask > 0) & (mask < 255)).any()), bool((mask == 255).any())


@dataclass
class COCOSplitSummary:
    """Counts of one split."""

    images: int = 0
    listed: int = 0
    no_instances: int = 0
    crowd_only: int = 0
    written: int = 0
    skipped: int = 0
    listed_without_foreground: int = 0
    with_ignored: int = 0


@dataclass
class COCOSummary:
    root: str = ''
    overlap: str = DEFAULT_OVERLAP
    splits: Dict[str, COCOSplitSummary] = field(default_factory=dict)
    lists: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> List[str]:
        """A readable report, with the list sizes WSSS papers use."""
        out = [f'COCO 2014 class masks in {self.root} (overlap rule {self.overlap}, '
               f'{self.seconds:.1f} s):']
        for split, s in self.splits.items():
            paper = PAPER_COUNTS.get(split)
            out.append(
                f'  {split}2014: {s.images:,} images; listed {s.listed:,} with a non-crowd '
                f'instance (WSSS papers list {paper:,}), left out {s.no_instances:,} without '
                f'instances and {s.crowd_only:,} with crowd regions only; masks written '
                f'{s.written:,}, skipped {s.skipped:,} (done); of the written ones '
                f'{s.listed_without_foreground:,} listed masks without any object pixel '
                f'(instances too small to cover a pixel), {s.with_ignored:,} with 255 pixels')
        out += [f'  {LIST_DIR}/{name}.txt: {n:,} ids' for name, n in self.lists.items()]
        return out

    def as_dict(self) -> dict:
        return dict(root=self.root, overlap=self.overlap, lists=dict(self.lists),
                    seconds=self.seconds,
                    splits={k: dict(v.__dict__) for k, v in self.splits.items()})


class COCOWSSSConverter:
    """Writes COCO 2014's class masks and lists; see the module docstring.

    Args:
        annotations (str): Folder with the instances jsons, or the annotations zip.
        out (str): The data root the configs read (e.g. ``data/coco``).
        splits (Sequence[str]): Splits to convert. Defaults to both.
        overlap (str): Rule for overlapping instances, one of :data:`OVERLAP_RULES`.
        workers (int): Worker processes. Defaults to 1.
        force (bool): Rewrite masks that exist. Defaults to False.
        progress (bool): Show progress bars. Defaults to True.
    """

    def __init__(self, annotations: str, out: str, splits: Sequence[str] = SPLITS,
                 overlap: str = DEFAULT_OVERLAP, workers: int = 1, force: bool = False,
                 progress: bool = True) -> None:
        if overlap not in OVERLAP_RULES:
            raise ValueError(f'overlap must be one of {OVERLAP_RULES}, got {overlap!r}')
        bad = [s for s in splits if s not in SPLITS]
        if bad or not splits:
            raise ValueError(f'splits must be among {SPLITS}, got {list(splits)}')
        if not osp.exists(annotations):
            raise FileNotFoundError(f'COCO annotations: {annotations} does not exist')
        self.annotations = annotations
        self.out = out
        self.splits = list(dict.fromkeys(splits))
        self.overlap = overlap
        self.workers = workers
        self.force = force
        self.progress = progress

    def _check_out(self) -> None:
        record = osp.join(self.out, RECORD_FILE)
        for split in self.splits:
            mask_dir = osp.join(self.out, MASK_DIR, f'{split}2014')
            if self.force or osp.isfile(record) or not osp.isdir(mask_dir):
                continue
            with os.scandir(mask_dir) as it:
                pngs = sum(1 for e in it if e.name.endswith('.png'))
            if pngs:
                raise FileExistsError(
                    f'{mask_dir} holds {pngs} masks this converter did not write (e.g. '
                    'downloaded ones, rendered with other rules). Pass --force to rewrite '
                    'them, or choose another --out.')
        os.makedirs(self.out, exist_ok=True)
        check_recorded_settings(self.out, dict(converter='coco_wsss', format=1,
                                               overlap=self.overlap),
                                RECORD_FILE, 'COCO masks made')

    def run(self) -> COCOSummary:
        """Converts the splits; returns the counts. Errors name the file that is wrong."""
        start = time.time()
        self._check_out()
        summary = COCOSummary(root=self.out, overlap=self.overlap)
        with TaskPool(self.workers) as pool:
            pool.start()  # fork before the json is loaded: workers need none of it
            for split in self.splits:
                summary.splits[split], ids = self._convert_split(pool, split)
                list_dir = osp.join(self.out, LIST_DIR)
                write_id_list(osp.join(list_dir, f'{split}.txt'), ids)
                summary.lists[split] = len(ids)
                if split == 'val':
                    write_id_list(osp.join(list_dir, f'val_{VAL_SUBSET}.txt'), ids[:VAL_SUBSET])
                    summary.lists[f'val_{VAL_SUBSET}'] = min(VAL_SUBSET, len(ids))
        summary.seconds = time.time() - start
        return summary

    def _convert_split(self, pool: TaskPool, split: str) -> Tuple[COCOSplitSummary, List[str]]:
        instances, source = load_instances(self.annotations, split)
        images = index_images(instances, source, split)
        del instances
        mask_dir = osp.join(self.out, MASK_DIR, f'{split}2014')
        os.makedirs(mask_dir, exist_ok=True)
        s = COCOSplitSummary(images=len(images))
        listed = []
        for img in images:
            if img.has_object:
                listed.append(img.stem)
            elif img.instances:
                s.crowd_only += 1
            else:
                s.no_instances += 1
        s.listed = len(listed)
        is_listed = {img.image_id: img.has_object for img in images}
        todo = [img for img in images
                if self.force or not osp.isfile(osp.join(mask_dir, img.stem + '.png'))]
        s.skipped = len(images) - len(todo)
        tasks = (((osp.join(mask_dir, img.stem + '.png'), img.height, img.width, img.instances,
                   self.overlap, f'{source} image {img.image_id}'), img.image_id)
                 for img in todo)
        for image_id, (has_fg, has_ignored) in pool.map(
                _with_key, tasks, total=len(todo), desc=f'COCO {split}2014 masks', unit='mask',
                progress=self.progress):
            s.written += 1
            s.listed_without_foreground += is_listed[image_id] and not has_fg
            s.with_ignored += has_ignored
        return s, listed


def _with_key(item: tuple) -> Tuple[int, Tuple[bool, bool]]:
    task, key = item
    return key, write_coco_mask(task)


def convert_coco_wsss(annotations: str, out: str, **kwargs) -> COCOSummary:
    """Runs :class:`COCOWSSSConverter`; keyword arguments are its own."""
    return COCOWSSSConverter(annotations, out, **kwargs).run()
