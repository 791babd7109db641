"""A picture of a pipeline run: image, class maps, pseudo label and true mask side by side."""
import os.path as osp
from typing import Sequence

import cv2
import numpy as np

from ..datasets.label_mask import read_label_mask
from ..pseudo_labels.cam_io import cam_path, load_cams
from .cam_overlay import argmax_overlay
from .mask_palette import colour_mask


def _read_rgb(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'cannot read the image {path}')
    return image[..., ::-1].copy()


def example_row(image: np.ndarray, cams: np.ndarray, class_ids: np.ndarray,
                pseudo_label: np.ndarray, mask: np.ndarray,
                palette: Sequence[Sequence[int]], bg_threshold: float) -> np.ndarray:
    """Four tiles of one image: the image, its maps, its pseudo label, its true mask.

    Args:
        image (np.ndarray): uint8 (H, W, 3) RGB.
        cams (np.ndarray): (K, H, W) maps in [0, 1] of ``class_ids``.
        class_ids (np.ndarray): (K,) foreground indices from 0.
        pseudo_label (np.ndarray): (H, W) labels, 255 unlabelled.
        mask (np.ndarray): (H, W) true labels, 255 ignored.
        palette (Sequence[Sequence[int]]): (C + 1, 3) RGB colours.
        bg_threshold (float): Maps are coloured where their best score exceeds it.

    Returns:
        np.ndarray: uint8 (H, 4 W, 3) RGB.
    """
    for name, arr in (('pseudo label', pseudo_label), ('mask', mask)):
        if arr.shape != image.shape[:2]:
            raise ValueError(f'{name} of shape {arr.shape} does not match the image of '
                             f'size {image.shape[:2]}')
    maps = argmax_overlay(image, cams, class_ids, palette, bg_threshold=bg_threshold)
    return np.concatenate(
        [image, maps, colour_mask(pseudo_label, palette),
         colour_mask(mask, palette)], axis=1)


def render_pipeline_examples(work_dir: str, data_root: str, img_ids: Sequence[str],
                             palette: Sequence[Sequence[int]], bg_threshold: float,
                             groups: int = 2, scale: int = 2, gap: int = 4) -> np.ndarray:
    """Rows of :func:`example_row` from a pipeline's work dir, in ``groups`` side by side.

    Reads ``<data_root>/JPEGImages/<id>.jpg``, ``<work_dir>/cams/<id>.npz``,
    ``<work_dir>/pseudo_labels/<id>.png`` and ``<data_root>/SegmentationClassAug/<id>.png``.

    Args:
        work_dir (str): The pipeline's work dir.
        data_root (str): The dataset root.
        img_ids (Sequence[str]): Images to show; all of one size.
        palette (Sequence[Sequence[int]]): (C + 1, 3) RGB colours.
        bg_threshold (float): Background threshold of the map tiles.
        groups (int): Groups of four columns side by side.
        scale (int): Nearest-neighbour magnification of every tile.
        gap (int): White pixels between groups and rows.

    Returns:
        np.ndarray: uint8 RGB picture.
    """
    if not img_ids:
        raise ValueError('no images to show')
    rows = []
    for img_id in img_ids:
        data = load_cams(cam_path(osp.join(work_dir, 'cams'), img_id))
        image = _read_rgb(osp.join(data_root, 'JPEGImages', f'{img_id}.jpg'))
        pseudo = read_label_mask(osp.join(work_dir, 'pseudo_labels', f'{img_id}.png'))
        mask = read_label_mask(osp.join(data_root, 'SegmentationClassAug', f'{img_id}.png'))
        row = example_row(image, data['cams'], data['class_ids'], pseudo, mask, palette,
                          bg_threshold)
        rows.append(np.kron(row, np.ones((scale, scale, 1), dtype=np.uint8)))
    if len({r.shape for r in rows}) != 1:
        raise ValueError('the images differ in size; pick images of one size')
    per_group = -(-len(rows) // groups)
    blank = np.full_like(rows[0], 255)
    rows += [blank] * (per_group * groups - len(rows))
    h, w = rows[0].shape[:2]
    out = np.full((per_group * (h + gap) - gap, groups * (w + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        g, r = divmod(i, per_group)
        out[r * (h + gap):r * (h + gap) + h, g * (w + gap):g * (w + gap) + w] = row
    return out
