"""PASCAL VOC 2012 + SBD -> the ``SegmentationClassAug`` tree WSSS methods train on.

From the VOC trainval tar (or its extracted ``VOCdevkit/VOC2012``) and SBD's
``benchmark.tgz`` (or ``benchmark_RELEASE``), :class:`VOCAugConverter` writes under the
data root::

    JPEGImages/<id>.jpg                 VOC's images (not copied when the root is VOC's)
    SegmentationClassAug/<id>.png       one class-id mask per image of VOC's segmentation
                                        sets and SBD (12,031): VOC's own mask where there
                                        is one (ids 0-20, 255 on the boundary band), SBD's
                                        GTcls.Segmentation otherwise (ids 0-20)
    ImageSets/Segmentation/
      train_aug.txt                     VOC train + SBD train + SBD val - VOC val (10,582)
      train.txt, val.txt                VOC's lists (1,464 and 1,449)

This is the convention of WSSS repositories (one mask folder used for training and for
scoring train and val on VOC's own annotations). mmsegmentation's ``voc_aug.py`` differs:
its ``SegmentationClassAug`` holds SBD's masks only (also for the ids VOC annotates, which
mmseg reads from ``SegmentationClass``) and its list is ``trainaug.txt``; the datasets here
accept either list name.

The run is resumable: masks and images already written are skipped. A record file in the
root (``.voc_aug.json``) marks the mask folder as this converter's; a mask folder filled
by something else (mmsegmentation's converter writes SBD masks for VOC's ids too) is
refused unless ``force`` rewrites it.
"""
import os
import os.path as osp
import shutil
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Set, Tuple

from ...utils.atomic_io import atomic_open
from ...utils.run_settings import check_recorded_settings
from .class_masks import write_sbd_mask, write_voc_mask
from .dataset_input import DatasetInput, SourceFile, check_md5
from .id_lists import parse_id_list, write_id_list
from .task_pool import TaskPool

VOC_TRAINVAL_MD5 = '6cd6e144f989b92b3379bac3b3de84fd'  # VOCtrainval_11-May-2012.tar
SBD_MD5 = '82b4d87ceb2ed10f6038a1cba92111cb'  # benchmark.tgz
NUM_CLASSES = 21

IMG_DIR = 'JPEGImages'
MASK_DIR = 'SegmentationClassAug'
LIST_DIR = osp.join('ImageSets', 'Segmentation')
TRAIN_AUG_LIST = 'train_aug'
# What the official archives give; a run reports its counts against these.
CANONICAL_COUNTS = {'train_aug': 10582, 'train': 1464, 'val': 1449, 'masks': 12031}
RECORD_FILE = '.voc_aug.json'
RECORD = dict(converter='voc_aug', format=1,
              masks='VOC SegmentationClass where present, else SBD cls GTcls.Segmentation')


def voc_input(path: str) -> DatasetInput:
    """VOC 2012 trainval: the tar, or ``VOCdevkit/VOC2012`` (or a folder above it)."""
    return DatasetInput(path, 'VOC2012', 'ImageSets/Segmentation', 'PASCAL VOC 2012',
                        root_parents=('VOC2012', 'VOCdevkit/VOC2012'))


def sbd_input(path: str) -> DatasetInput:
    """SBD: ``benchmark.tgz``, or ``benchmark_RELEASE`` (or its ``dataset`` folder)."""
    return DatasetInput(path, 'dataset', 'cls', 'SBD',
                        root_parents=('dataset', 'benchmark_RELEASE/dataset'))


def make_train_aug(voc_train: List[str], voc_val: List[str], sbd_train: List[str],
                   sbd_val: List[str]) -> List[str]:
    """VOC train + SBD train + SBD val, minus VOC val, sorted (10,582 ids from the archives)."""
    held_out = set(voc_val)
    return sorted(set(voc_train).union(sbd_train, sbd_val) - held_out)


def copy_image(task: Tuple[SourceFile, str]) -> Tuple[str, int]:
    """Worker task: an image into the data root (hard link where possible), atomically."""
    source, out_file = task
    if source.path is not None:
        tmp = osp.join(osp.dirname(out_file), f'.{osp.basename(out_file)}.{os.getpid()}.link')
        if osp.lexists(tmp):  # left by a killed run
            os.unlink(tmp)
        try:
            os.link(source.path, tmp)
        except OSError:  # another file system, or links not allowed: copy
            with open(source.path, 'rb') as src, atomic_open(out_file, 'wb') as dst:
                shutil.copyfileobj(src, dst)
        else:
            os.replace(tmp, out_file)
    else:
        with atomic_open(out_file, 'wb') as f:
            f.write(source.data)
    return 'image', 1


@dataclass
class VOCAugSummary:
    """What one run did; ``lists`` maps list names to their number of ids."""

    root: str = ''
    images_written: int = 0
    images_skipped: int = 0
    voc_masks_written: int = 0
    voc_masks_skipped: int = 0
    sbd_masks_written: int = 0
    sbd_masks_skipped: int = 0
    sbd_masks_superseded: int = 0
    masks_total: int = 0
    lists: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> List[str]:
        """A readable report, with the counts the official archives give."""
        def vs(name: str, n: int, unit: str) -> str:
            want = CANONICAL_COUNTS.get(name)
            return f'{n:,} {unit}' + ('' if want is None or want == n else
                                      f' (the official archives give {want:,})')
        out = [f'VOC 2012 + SBD in {self.root} ({self.seconds:.1f} s):',
               f'  {MASK_DIR}: {vs("masks", self.masks_total, "masks")}; VOC masks written '
               f'{self.voc_masks_written}, skipped {self.voc_masks_skipped} (done); SBD '
               f'masks written {self.sbd_masks_written}, skipped {self.sbd_masks_skipped} '
               f'(done), {self.sbd_masks_superseded} not used (VOC has its own mask)',
               f'  {IMG_DIR}: written {self.images_written}, skipped {self.images_skipped} '
               '(done or already the data root)']
        out += [f'  {LIST_DIR}/{name}.txt: {vs(name, n, "ids")}'
                for name, n in self.lists.items()]
        return out

    def as_dict(self) -> dict:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


class VOCAugConverter:
    """Writes the ``SegmentationClassAug`` tree from VOC 2012 and SBD; see the module doc.

    Args:
        voc (str): ``VOCtrainval_11-May-2012.tar`` or the extracted ``VOCdevkit/VOC2012``.
        sbd (str): ``benchmark.tgz`` or the extracted ``benchmark_RELEASE``.
        out (str): The data root the configs read (may be the VOC folder itself).
        workers (int): Worker processes. Defaults to 1.
        check_md5 (bool): Check archives against their published MD5. Defaults to True.
        voc_md5 (str): Expected MD5 of the VOC archive.
        sbd_md5 (str): Expected MD5 of the SBD archive.
        force (bool): Rewrite masks and images that exist, and take over a mask folder
            this converter did not fill. Defaults to False.
        progress (bool): Show progress bars. Defaults to True.
    """

    def __init__(self, voc: str, sbd: str, out: str, workers: int = 1, check_md5: bool = True,
                 voc_md5: str = VOC_TRAINVAL_MD5, sbd_md5: str = SBD_MD5, force: bool = False,
                 progress: bool = True) -> None:
        self.voc = voc_input(voc)
        self.sbd = sbd_input(sbd)
        self.out = out
        self.workers = workers
        self.check_md5 = check_md5
        self.voc_md5 = voc_md5
        self.sbd_md5 = sbd_md5
        self.force = force
        self.progress = progress

    def _out(self, *parts: str) -> str:
        return osp.join(self.out, *parts)

    def _needs(self, path: str) -> bool:
        return self.force or not osp.isfile(path)

    def _check_out(self) -> None:
        mask_dir = self._out(MASK_DIR)
        if not self.force and not osp.isfile(self._out(RECORD_FILE)) and osp.isdir(mask_dir):
            with os.scandir(mask_dir) as it:
                pngs = sum(1 for e in it if e.name.endswith('.png'))
            if pngs:
                raise FileExistsError(
                    f'{mask_dir} holds {pngs} masks this converter did not write (e.g. '
                    "mmsegmentation's voc_aug.py, whose masks are SBD's also where VOC has "
                    'its own). Pass --force to rewrite them, or choose another --out.')
        for d in (IMG_DIR, MASK_DIR, LIST_DIR):
            os.makedirs(self._out(d), exist_ok=True)
        check_recorded_settings(self.out, RECORD, RECORD_FILE, 'masks made')

    def _same_images(self) -> bool:
        """Whether the data root's images are VOC's own (the root is the VOC folder)."""
        src = osp.join(self.voc.root, IMG_DIR) if self.voc.root else None
        dst = self._out(IMG_DIR)
        return src is not None and osp.isdir(dst) and osp.samefile(src, dst)

    def run(self) -> VOCAugSummary:
        """Converts; returns the counts. Errors name the file that is wrong."""
        start = time.time()
        if self.check_md5:
            for source, md5, name in ((self.voc, self.voc_md5, 'VOCtrainval_11-May-2012.tar'),
                                      (self.sbd, self.sbd_md5, "SBD's benchmark.tgz")):
                if source.archive:
                    check_md5(source.path, md5, name, progress=self.progress)
        os.makedirs(self.out, exist_ok=True)
        self._check_out()
        summary = VOCAugSummary(root=self.out)
        lists: Dict[str, List[str]] = {}
        voc_ids: Set[str] = set()
        sbd_ids: Set[str] = set()
        with TaskPool(self.workers) as pool:
            for kind, n in pool.map(_run_task, self._voc_tasks(lists, voc_ids, summary),
                                    desc=f'VOC ({"archive" if self.voc.archive else "folder"})',
                                    progress=self.progress):
                if kind == 'voc':
                    summary.voc_masks_written += n
                else:
                    summary.images_written += n
            self._require_lists(self.voc, lists, ('voc/train', 'voc/val'),
                                'ImageSets/Segmentation/{}.txt')
            sbd_tasks = self._sbd_tasks(lists, voc_ids, sbd_ids, summary)
            for kind, n in pool.map(_run_task, sbd_tasks,
                                    desc=f'SBD ({"archive" if self.sbd.archive else "folder"})',
                                    progress=self.progress):
                summary.sbd_masks_written += n
            self._require_lists(self.sbd, lists, ('sbd/train', 'sbd/val'), '{}.txt')
        if not voc_ids:
            raise FileNotFoundError(f'{self.voc}: no SegmentationClass/*.png masks found')
        if not sbd_ids:
            raise FileNotFoundError(f'{self.sbd}: no cls/*.mat masks found')

        out_lists = {
            TRAIN_AUG_LIST: make_train_aug(lists['voc/train'], lists['voc/val'],
                                           lists['sbd/train'], lists['sbd/val']),
            'train': lists['voc/train'],
            'val': lists['voc/val'],
        }
        self._check_complete(out_lists)
        for name, ids in out_lists.items():
            write_id_list(self._out(LIST_DIR, name + '.txt'), ids)
            summary.lists[name] = len(ids)
        summary.masks_total = len(voc_ids | sbd_ids)
        summary.seconds = time.time() - start
        return summary

    def _voc_tasks(self, lists: Dict[str, List[str]], voc_ids: Set[str],
                   summary: VOCAugSummary) -> Iterator[tuple]:
        copy_images = not self._same_images()

        def select(folder: str, stem: str) -> bool:
            if folder == 'SegmentationClass':
                voc_ids.add(stem)  # every VOC mask takes precedence, written now or before
                wanted = self._needs(self._out(MASK_DIR, stem + '.png'))
                summary.voc_masks_skipped += not wanted
                return wanted
            if folder == IMG_DIR:
                wanted = copy_images and self._needs(self._out(IMG_DIR, stem + '.jpg'))
                summary.images_skipped += not wanted
                return wanted
            return stem in ('train', 'val')

        folders = {IMG_DIR: '.jpg', 'SegmentationClass': '.png', 'ImageSets/Segmentation': '.txt'}
        for folder, stem, source in self.voc.iter_files(folders, select):
            if folder == 'SegmentationClass':
                yield write_voc_mask, (source, self._out(MASK_DIR, stem + '.png'), NUM_CLASSES)
            elif folder == IMG_DIR:
                yield copy_image, (source, self._out(IMG_DIR, stem + '.jpg'))
            else:
                lists[f'voc/{stem}'] = parse_id_list(source.read(), source.name)

    def _sbd_tasks(self, lists: Dict[str, List[str]], voc_ids: Set[str], sbd_ids: Set[str],
                   summary: VOCAugSummary) -> Iterator[tuple]:
        def select(folder: str, stem: str) -> bool:
            if folder == 'cls':
                sbd_ids.add(stem)
                if stem in voc_ids:
                    summary.sbd_masks_superseded += 1
                    return False
                wanted = self._needs(self._out(MASK_DIR, stem + '.png'))
                summary.sbd_masks_skipped += not wanted
                return wanted
            return stem in ('train', 'val')

        for folder, stem, source in self.sbd.iter_files({'cls': '.mat', '': '.txt'}, select):
            if folder == 'cls':
                yield write_sbd_mask, (source, self._out(MASK_DIR, stem + '.png'), NUM_CLASSES)
            else:
                lists[f'sbd/{stem}'] = parse_id_list(source.read(), source.name)

    @staticmethod
    def _require_lists(source: DatasetInput, lists: Dict[str, List[str]],
                       keys: Tuple[str, ...], pattern: str) -> None:
        missing = [pattern.format(k.split('/')[1]) for k in keys if k not in lists]
        if missing:
            raise FileNotFoundError(f'{source}: list file(s) {", ".join(missing)} not found')

    def _check_complete(self, out_lists: Dict[str, List[str]]) -> None:
        """Every listed id has its mask and image in the data root."""
        ids = sorted(set().union(*out_lists.values()))
        for what, folder, suffix in (('masks', MASK_DIR, '.png'), ('images', IMG_DIR, '.jpg')):
            missing = [i for i in ids if not osp.isfile(self._out(folder, i + suffix))]
            if missing:
                shown = ', '.join(self._out(folder, i + suffix) for i in missing[:5])
                raise FileNotFoundError(
                    f'{len(missing)} listed images have no {what} after the conversion '
                    f'(neither VOC nor SBD provides them: is an input incomplete?): {shown}'
                    + (', ...' if len(missing) > 5 else ''))


def _run_task(task: tuple) -> Tuple[str, int]:
    fn, args = task
    return fn(args)


def convert_voc_aug(voc: str, sbd: str, out: str, **kwargs) -> VOCAugSummary:
    """Runs :class:`VOCAugConverter`; keyword arguments are its own."""
    return VOCAugConverter(voc, sbd, out, **kwargs).run()


__all__ = ['VOCAugConverter', 'VOCAugSummary', 'convert_voc_aug', 'make_train_aug',
           'parse_id_list', 'voc_input', 'sbd_input', 'copy_image', 'VOC_TRAINVAL_MD5',
           'SBD_MD5', 'CANONICAL_COUNTS']
