# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Image-level labels derived from segmentation masks, computed once and cached.

Weakly supervised training only needs to know which classes occur in each image. On PASCAL
VOC that information is recovered from the segmentation masks, and scanning ~10k PNGs takes
long enough that it is worth doing once: the result is stored as a small ``.npz`` file next
to the image list (or under ``$XDG_CACHE_HOME/acr_wsss`` when that directory is read-only).

The cache is keyed by the absolute path of the list file, a hash of its content and the
absolute mask directory, so editing the list rebuilds it. Editing masks in place while
keeping the list unchanged does not: delete the cache file (or pass ``label_cache=False`` to
the dataset) after doing that.
"""
import hashlib
import logging
import os
import os.path as osp
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.dist import get_rank
from mmengine.logging import print_log
from tqdm import tqdm

from ..utils.atomic_io import atomic_save_npz
from .label_mask import read_label_mask

# Bump when the stored layout or the label semantics change, so old caches are rebuilt.
CACHE_FORMAT_VERSION = 1


def image_labels_from_mask(mask: np.ndarray,
                           num_classes: int,
                           ignore_index: int = 255,
                           source: Optional[str] = None) -> np.ndarray:
    """Multi-hot foreground labels of one segmentation mask.

    Class id 0 is background and is not part of the vector: mask value ``k`` in
    ``1..num_classes-1`` sets entry ``k - 1``. ``ignore_index`` pixels are skipped.

    Args:
        mask (np.ndarray): Class ids of shape (H, W), any integer dtype.
        num_classes (int): Number of classes including background.
        ignore_index (int): Value of pixels that carry no label. Defaults to 255.
        source (str, optional): Where the mask came from, quoted in error messages.

    Returns:
        np.ndarray: Multi-hot vector of shape (num_classes - 1,), dtype float32.

    Raises:
        ValueError: If the mask is not 2-D, not integer, or holds values outside
            ``{0, ..., num_classes - 1, ignore_index}``.
    """
    where = f' in {source}' if source else ''
    if num_classes < 2:
        raise ValueError(f'num_classes must be >= 2 (background + 1 class), got {num_classes}')
    if mask.ndim != 2:
        raise ValueError(f'Segmentation mask{where} must be single-channel with shape (H, W), '
                         f'got shape {mask.shape}')
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f'Segmentation mask{where} must hold integer class ids, '
                         f'got dtype {mask.dtype}')
    if mask.dtype == np.uint8:
        # bincount over a fixed 256-bin range is several times faster than np.unique.
        present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    else:
        present = np.unique(mask)
    valid = ((present >= 0) & (present < num_classes)) | (present == ignore_index)
    if not valid.all():
        bad = present[~valid].tolist()
        raise ValueError(f'Segmentation mask{where} holds values {bad} outside the valid set '
                         f'{{0..{num_classes - 1}, {ignore_index}}}')
    fg = present[(present > 0) & (present < num_classes)]
    labels = np.zeros(num_classes - 1, dtype=np.float32)
    labels[fg - 1] = 1.0
    return labels


def compute_image_labels(mask_paths: Sequence[str],
                         num_classes: int,
                         ignore_index: int = 255,
                         num_workers: Optional[int] = None,
                         progress: bool = True) -> np.ndarray:
    """Scan masks and stack their multi-hot foreground labels.

    Args:
        mask_paths (Sequence[str]): N mask files.
        num_classes (int): Number of classes including background.
        ignore_index (int): Value of unlabelled pixels. Defaults to 255.
        num_workers (int, optional): Decoding threads (PNG decoding releases the GIL).
            Defaults to ``min(8, os.cpu_count())``.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        np.ndarray: Labels of shape (N, num_classes - 1), dtype float32.
    """
    num = len(mask_paths)
    labels = np.zeros((num, num_classes - 1), dtype=np.float32)
    if num == 0:
        return labels

    def scan(path: str) -> np.ndarray:
        return image_labels_from_mask(
            read_label_mask(path), num_classes, ignore_index, source=path)

    workers = num_workers or min(8, os.cpu_count() or 1)
    bar = tqdm(total=num, desc='image labels from masks', unit='mask', mininterval=1.0,
               disable=not progress)
    if workers <= 1:
        rows: Iterator[np.ndarray] = map(scan, mask_paths)
        executor = None
    else:
        executor = ThreadPoolExecutor(max_workers=workers)
        rows = executor.map(scan, mask_paths)
    try:
        for i, row in enumerate(rows):
            labels[i] = row
            bar.update(1)
    finally:
        bar.close()
        if executor is not None:
            # On an error, do not wait for thousands of queued scans to finish.
            executor.shutdown(wait=True, cancel_futures=True)
    return labels


def _user_cache_dir() -> str:
    base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(base, 'acr_wsss')


def _sha256(data: Union[bytes, str]) -> str:
    if isinstance(data, str):
        data = data.encode('utf-8')
    return hashlib.sha256(data).hexdigest()


class ImageLabelCache:
    """Image-level labels of one image list, derived from its masks and cached on disk.

    Args:
        list_file (str): Image-id list the labels belong to (one id per line).
        mask_dir (str): Directory of the masks.
        num_classes (int): Number of classes including background.
        ignore_index (int): Value of unlabelled pixels. Defaults to 255.
        cache_dir (str, optional): Directory for the cache file. Defaults to the directory
            of ``list_file``, falling back to ``$XDG_CACHE_HOME/acr_wsss`` (``~/.cache``)
            when that one is not writable.
    """

    def __init__(self,
                 list_file: str,
                 mask_dir: str,
                 num_classes: int,
                 ignore_index: int = 255,
                 cache_dir: Optional[str] = None) -> None:
        self.list_file = osp.abspath(list_file)
        self.mask_dir = osp.abspath(mask_dir)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.cache_dir = cache_dir

    @property
    def key(self) -> str:
        """Hash of everything the labels depend on; reads the list file."""
        with open(self.list_file, 'rb') as f:
            content_hash = _sha256(f.read())
        return _sha256('\n'.join([
            f'v{CACHE_FORMAT_VERSION}', self.list_file, content_hash, self.mask_dir,
            str(self.num_classes), str(self.ignore_index)
        ]))

    @property
    def candidate_paths(self) -> List[str]:
        """Cache files to try, in order of preference.

        The name is stable for a (list path, mask dir) pair so that an edited list
        overwrites its old cache instead of piling up new files; the content hash is
        stored inside the file and checked on load.
        """
        stem = osp.splitext(osp.basename(self.list_file))[0]
        tag = _sha256(f'{self.list_file}\n{self.mask_dir}\n{self.num_classes}')[:12]
        name = f'{stem}.img_labels.{tag}.npz'
        dirs = ([self.cache_dir] if self.cache_dir else
                [osp.dirname(self.list_file), _user_cache_dir()])
        return [osp.join(d, name) for d in dirs]

    def load(self, img_ids: Sequence[str]) -> Optional[np.ndarray]:
        """Return cached labels of shape (N, num_classes - 1) if a valid cache exists."""
        key = self.key
        for path in self.candidate_paths:
            if not osp.isfile(path):
                continue
            try:
                with np.load(path, allow_pickle=False) as data:
                    if (str(data['key']) == key
                            and data['labels'].shape == (len(img_ids), self.num_classes - 1)
                            and data['img_ids'].tolist() == list(img_ids)):
                        print_log(f'Loaded image-level labels from cache {path}', 'current')
                        return data['labels'].astype(np.float32)
            except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
                print_log(f'Ignoring unreadable label cache {path}: {e}', 'current',
                          level=logging.WARNING)
        return None

    def save(self, img_ids: Sequence[str], labels: np.ndarray) -> Optional[str]:
        """Store labels; returns the path written, or None if no location was writable."""
        arrays = dict(
            key=np.array(self.key),
            img_ids=np.array(list(img_ids), dtype=str),
            labels=labels.astype(np.uint8))
        for path in self.candidate_paths:
            try:
                atomic_save_npz(path, compressed=False, **arrays)
            except OSError as e:
                print_log(f'Cannot write label cache {path} ({e}), trying the next location',
                          'current', level=logging.WARNING)
                continue
            print_log(f'Saved image-level labels to {path}', 'current')
            return path
        print_log('No writable location for the label cache; labels will be recomputed '
                  'next time', 'current', level=logging.WARNING)
        return None

    def get(self, img_ids: Sequence[str], mask_paths: Sequence[str],
            use_cache: bool = True) -> np.ndarray:
        """Cached labels, computing and storing them from the masks on a miss.

        Args:
            img_ids (Sequence[str]): N image ids, in list order.
            mask_paths (Sequence[str]): N mask files matching ``img_ids``.
            use_cache (bool): Read and write the cache file. Defaults to True.

        Returns:
            np.ndarray: Labels of shape (N, num_classes - 1), dtype float32.
        """
        if use_cache:
            labels = self.load(img_ids)
            if labels is not None:
                return labels
        print_log(f'Deriving image-level labels of {len(mask_paths)} images from the masks '
                  f'in {self.mask_dir} (done once, then cached)', 'current')
        for img_id, path in zip(img_ids, mask_paths):
            # Checked up front so a missing file is reported before minutes of scanning.
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'Segmentation mask of image id {img_id!r} not found: {path}')
        labels = compute_image_labels(
            mask_paths, self.num_classes, self.ignore_index, progress=get_rank() == 0)
        if use_cache:
            self.save(img_ids, labels)
        return labels
