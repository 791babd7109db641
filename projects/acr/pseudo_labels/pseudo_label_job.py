"""Pseudo labels of a whole image list: resumable, over worker processes, ranks and nodes.

:class:`PseudoLabelJob` is to pseudo labels what :class:`CAMInferencer` is to class maps:
it plans the work (images whose label PNG exists are done; a missing class-map file is an
error, or a counted failure), takes this process's share of the list (strided, as
:func:`shard_indices` gives it, so torchrun or Slurm ranks on several nodes split the
list without talking to each other) and makes the labels in a pool of worker processes.
A dense CRF on a VOC-sized image takes about 3 s of one core, so COCO's 82k images need
the pool and the ranks together.
"""
import multiprocessing
import os
import os.path as osp
import time
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from ..utils.run_settings import check_recorded_settings
from ..utils.sharded_job import MergeableSummary, shard_indices
from .cam_io import cam_path
from .label_images import LabelImages
from .label_writer import PseudoLabelWriter

ON_MISSING = ('error', 'skip')
SETTINGS_FILE = 'pseudo_labels.json'
LABEL_SUFFIX = '.png'
Job = Tuple[str, str, str]  # (cam_file, img_file, out_file)


@dataclass
class PseudoLabelSummary(MergeableSummary):
    """Counts of one run: labels written, found done, failed (maps missing), listed."""

    written: int = 0
    skipped: int = 0
    failed: int = 0
    total: int = 0

    def as_dict(self) -> Dict[str, int]:
        return dict(written=self.written, skipped=self.skipped, failed=self.failed,
                    total=self.total)


def default_chunksize(num_jobs: int, workers: int) -> int:
    """Images per task sent to a worker."""
    # About four chunks per worker balances the load without per-image messaging.
    return max(1, min(32, num_jobs // (4 * workers)))


class PseudoLabelJob:
    """Writes ``<out_dir>/<img_id>.png`` for the images of a list from their class maps.

    Args:
        writer (PseudoLabelWriter): Makes and writes one label (picklable).
        cam_dir (str): Directory of the ``<img_id>.npz`` class-map files.
        out_dir (str): Where the label PNGs go.
        force (bool): Rewrite labels that exist. Defaults to False (skip them).
        on_missing (str): An image without a class-map file: ``'error'`` stops before
            anything is written, naming the files; ``'skip'`` warns and counts it failed.
        workers (int): Worker processes; 1 works in this process.
        chunksize (int, optional): Images per task sent to a worker; automatic by default.
        progress (bool): Show a progress bar.
    """

    def __init__(self,
                 writer: PseudoLabelWriter,
                 cam_dir: str,
                 out_dir: str,
                 force: bool = False,
                 on_missing: str = 'error',
                 workers: int = 1,
                 chunksize: Optional[int] = None,
                 progress: bool = True) -> None:
        if on_missing not in ON_MISSING:
            raise ValueError(f'on_missing must be one of {ON_MISSING}, got {on_missing!r}')
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        if chunksize is not None and chunksize < 1:
            raise ValueError(f'chunksize must be >= 1, got {chunksize}')
        self.writer = writer
        self.cam_dir = cam_dir
        self.out_dir = out_dir
        self.force = force
        self.on_missing = on_missing
        self.workers = workers
        self.chunksize = chunksize
        self.progress = progress

    def settings(self) -> Dict[str, object]:
        """What makes the labels of this job: the class maps and the generator's rule."""
        return dict(cam_dir=osp.realpath(self.cam_dir), **self.writer.generator.settings())

    def check_settings(self, write: bool = True) -> None:
        """Refuses an output folder filled with other settings (other alphas, thresholds,
        CRF or class maps), which would mix two kinds of labels; records them otherwise.

        Raises:
            ValueError: The folder holds labels made otherwise (the message says how).
        """
        if write:
            os.makedirs(self.out_dir, exist_ok=True)
        check_recorded_settings(self.out_dir, self.settings(), SETTINGS_FILE,
                                'pseudo labels made', write)

    def label_path(self, img_id: str) -> str:
        return osp.join(self.out_dir, img_id + LABEL_SUFFIX)

    def plan(self, images: LabelImages,
             indices: Sequence[int]) -> Tuple[List[Job], int, List[str]]:
        """The work left among ``indices`` of ``images``.

        Returns:
            tuple: The jobs, how many labels exist already, and the missing class-map
            files.
        """
        if not osp.isdir(self.cam_dir):
            raise FileNotFoundError(f'class-map directory not found: {self.cam_dir}')
        jobs, skipped, missing = [], 0, []
        for i in indices:
            img_id, img_file = images.ids[i], images.img_files[i]
            out_file = self.label_path(img_id)
            if not self.force and osp.isfile(out_file):
                skipped += 1
                continue
            cam_file = cam_path(self.cam_dir, img_id)
            if not osp.isfile(cam_file):
                missing.append(cam_file)
                continue
            jobs.append((cam_file, img_file, out_file))
        return jobs, skipped, missing

    def run(self, images: LabelImages, rank: int = 0, world_size: int = 1) -> PseudoLabelSummary:
        """Makes the missing labels of process ``rank``'s share of the list.

        Args:
            images (LabelImages): The whole list (every rank gets the same).
            rank (int): This process's rank.
            world_size (int): Number of processes sharing the list.

        Returns:
            PseudoLabelSummary: Counts of this share.

        Raises:
            FileNotFoundError: With ``on_missing='error'``, class maps of the share are
                missing (nothing is written then).
            ValueError: ``out_dir`` holds labels made with other settings.
        """
        indices = shard_indices(len(images), rank, world_size)
        jobs, skipped, missing = self.plan(images, indices)
        if missing:
            shown = ', '.join(missing[:3]) + (', ...' if len(missing) > 3 else '')
            if self.on_missing == 'error':
                raise FileNotFoundError(
                    f'class maps missing for {len(missing)} of {len(indices)} images of '
                    f'{images.ann_file}: {shown} (--on-missing skip leaves them out)')
            warnings.warn(f'class maps missing for {len(missing)} images, skipped: {shown}')
        self.check_settings(write=rank == 0)
        share = f' (share {rank + 1}/{world_size})' if world_size > 1 else ''
        print(f'{len(indices)} images in {images.ann_file}{share}: {len(jobs)} to make, '
              f'{skipped} already in {self.out_dir}; {self.writer.generator}', flush=True)
        start = time.time()
        written = self._write(jobs)
        summary = PseudoLabelSummary(written, skipped, len(missing), len(indices))
        print(f'pseudo labels in {self.out_dir}{share}: written {written}, skipped {skipped} '
              f'(already there), failed {len(missing)} (class maps missing); '
              f'{time.time() - start:.1f}s', flush=True)
        return summary

    def _write(self, jobs: List[Job]) -> int:
        written = 0
        with tqdm(total=len(jobs), desc='pseudo labels', unit='img', dynamic_ncols=True,
                  disable=not self.progress) as bar:
            if self.workers == 1 or len(jobs) <= 1:
                for job in jobs:
                    self.writer(job)
                    written += 1
                    bar.update()
            else:
                chunksize = self.chunksize or default_chunksize(len(jobs), self.workers)
                with multiprocessing.Pool(min(self.workers, len(jobs))) as pool:
                    for _ in pool.imap_unordered(self.writer, jobs, chunksize=chunksize):
                        written += 1
                        bar.update()
        return written
