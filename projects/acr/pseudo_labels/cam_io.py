"""On-disk format of class maps: one compressed ``<img_id>.npz`` per image.

Keys of each file:

* ``cams``: float16 array (K, H, W) in [0, 1], the maps of the K classes present (or
  predicted), at the original image size.
* ``class_ids``: int64 array (K,), foreground class index of each map counted from 0
  (VOC: 0 = aeroplane), i.e. the mask value minus one.
* ``scores``: float32 array (C,), the classifier's probabilities of all C classes.

Files are written atomically, so a file that exists is complete.
"""
import os.path as osp
from typing import Dict, Optional

import numpy as np

from ..utils.atomic_io import atomic_save_npz

CAM_SUFFIX = '.npz'


def cam_path(cam_dir: str, img_id: str) -> str:
    """Path of the class-map file of ``img_id`` under ``cam_dir``."""
    return osp.join(cam_dir, img_id + CAM_SUFFIX)


def save_cams(path: str, cams: np.ndarray, class_ids: np.ndarray,
              scores: Optional[np.ndarray] = None) -> None:
    """Writes the maps of one image atomically.

    Args:
        path (str): Output ``.npz`` path.
        cams (np.ndarray): (K, H, W) maps in [0, 1] (stored as float16).
        class_ids (np.ndarray): (K,) foreground class indices.
        scores (np.ndarray, optional): (C,) class probabilities.
    """
    cams = np.asarray(cams)
    class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if cams.ndim != 3 or cams.shape[0] != class_ids.shape[0]:
        raise ValueError(f'{path}: cams must be (K, H, W) with K = len(class_ids), got '
                         f'{cams.shape} for {class_ids.shape[0]} class ids')
    arrays = dict(cams=cams.astype(np.float16), class_ids=class_ids)
    if scores is not None:
        arrays['scores'] = np.asarray(scores, dtype=np.float32)
    atomic_save_npz(path, **arrays)


def load_cams(path: str) -> Dict[str, np.ndarray]:
    """Reads a file written by :func:`save_cams`.

    Returns:
        dict: ``cams`` as float32 (K, H, W), ``class_ids`` (K,), and ``scores`` when stored.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a readable class-map file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'class maps missing: {path}')
    try:
        with np.load(path) as data:
            out = {k: data[k] for k in data.files}
    except Exception as err:  # zip, pickle and OS errors all mean the same to the user
        raise ValueError(f'{path}: not a readable class-map file ({err})') from err
    for key in ('cams', 'class_ids'):
        if key not in out:
            raise ValueError(f'{path}: key "{key}" missing (has {sorted(out)})')
    out['cams'] = out['cams'].astype(np.float32)
    return out


def dense_cams(cams: np.ndarray, class_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """Scatters the stored maps into a (C, H, W) array that is zero for absent classes."""
    dense = np.zeros((num_classes, ) + cams.shape[1:], dtype=np.float32)
    dense[np.asarray(class_ids, dtype=np.int64)] = cams
    return dense
