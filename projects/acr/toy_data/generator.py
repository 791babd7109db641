# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""A small synthetic segmentation dataset laid out like PASCAL VOC.

It lets the whole weakly supervised pipeline run on a CPU in minutes, with a tiny ViT
trained from scratch. The images are built so that this is learnable quickly but not
trivially:

* five object classes, each with a saturated class colour, a class texture that repeats over
  the whole body (dots, stripes, checks, veins, rings) and a small distinctive part at one
  end (head, muzzle, knob, stem, hub). Any 8x8 patch of an object carries the class cue, so a
  classifier may fire on a part only (partial maps, as on real photos) while full
  localisation remains possible;
* one to three objects of varied shape (superellipses with wavy outlines), size (15-45% of
  the image side), orientation and aspect; they may overlap, the later one on top;
* cluttered backgrounds: smooth noise and low-contrast distractor blobs and lines in
  desaturated colours. Distractors reuse the class textures in grey, so texture alone is
  not enough: the colour matters too;
* masks with class ids 1..5, 0 background and a one-pixel 255 band on object boundaries.

Every sample is drawn from its own ``np.random.default_rng([seed, split, index])`` stream
with numpy masks only, so the dataset is byte-for-byte reproducible and the number of
samples in one split does not change the other.

The parts live in modules of their own: :mod:`.shapes`, :mod:`.appearance` (class colours and
textures), :mod:`.background`, :mod:`.sample` (one image and mask) and :mod:`.preview`; this
module writes the dataset to disk.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log
from PIL import Image

from ..datasets.toy_meta import TOY_CLASSES
from .preview import save_preview
from .sample import render_toy_sample
from .shapes import _random_object  # noqa: F401  (drawn through this module by its tests)

# Bump whenever the images a given seed produces change: complete datasets are recognised
# by their parameters and this version.
GENERATOR_VERSION = 2
COMPLETE_MARKER = '.complete'

_SPLITS = ('train', 'val')
_JPEG_QUALITY = 95


def _sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLITS.index(split), index])


def _params(num_train: int, num_val: int, img_size: int, seed: int) -> Dict[str, int]:
    return dict(num_train=num_train, num_val=num_val, img_size=img_size, seed=seed,
                version=GENERATOR_VERSION)


def read_complete_marker(root: str) -> Optional[dict]:
    """The summary stored by a finished :func:`make_toy_dataset` run, or None."""
    path = osp.join(root, COMPLETE_MARKER)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_tree(tmp: str, num_train: int, num_val: int, img_size: int,
                seed: int) -> Dict[str, object]:
    img_dir = osp.join(tmp, 'JPEGImages')
    seg_dir = osp.join(tmp, 'SegmentationClassAug')
    list_dir = osp.join(tmp, 'ImageSets', 'Segmentation')
    for d in (img_dir, seg_dir, list_dir):
        os.makedirs(d)

    num_fg = len(TOY_CLASSES) - 1
    stats: Dict[str, object] = {}
    preview: List[Tuple[np.ndarray, np.ndarray]] = []
    for split, num in (('train', num_train), ('val', num_val)):
        ids = [f'toy_{split}_{i:06d}' for i in range(num)]
        image_counts = np.zeros(num_fg, dtype=np.int64)
        pixel_counts = np.zeros(256, dtype=np.int64)
        multi = 0
        for i, img_id in enumerate(ids):
            img, mask = render_toy_sample(_sample_rng(seed, split, i), img_size)
            Image.fromarray(img).save(
                osp.join(img_dir, img_id + '.jpg'), quality=_JPEG_QUALITY)
            Image.fromarray(mask, mode='L').save(osp.join(seg_dir, img_id + '.png'))
            counts = np.bincount(mask.ravel(), minlength=256)
            pixel_counts += counts
            present = counts[1:len(TOY_CLASSES)] > 0
            image_counts += present
            multi += int(present.sum() >= 2)
            if split == 'val' and len(preview) < 8:
                preview.append((img, mask))
        text = ''.join(f'{img_id}\n' for img_id in ids)
        lists = ['train.txt', 'train_aug.txt'] if split == 'train' else ['val.txt']
        for name in lists:
            with open(osp.join(list_dir, name), 'w', encoding='utf-8') as f:
                f.write(text)
        total = max(int(pixel_counts.sum()), 1)
        stats[split] = dict(
            images=num,
            images_per_class=dict(zip(TOY_CLASSES[1:], image_counts.tolist())),
            multi_class_images=multi,
            pixel_fraction=dict(
                zip(TOY_CLASSES, (pixel_counts[:len(TOY_CLASSES)] / total).round(4).tolist()),
                ignore=round(float(pixel_counts[255] / total), 4)))
    if not preview and num_train:
        preview = [render_toy_sample(_sample_rng(seed, 'train', i), img_size)
                   for i in range(min(8, num_train))]
    if preview:
        save_preview(preview, osp.join(tmp, 'preview.png'))
    return stats


def make_toy_dataset(root: str,
                     num_train: int = 600,
                     num_val: int = 100,
                     img_size: int = 96,
                     seed: int = 0,
                     force: bool = False) -> Dict[str, object]:
    """Generate the toy dataset under ``root`` in the PASCAL VOC layout.

    Writes ``JPEGImages/*.jpg``, ``SegmentationClassAug/*.png`` (uint8 class ids),
    ``ImageSets/Segmentation/{train_aug,train,val}.txt`` (``train_aug`` equals ``train``),
    ``preview.png`` and a ``.complete`` marker holding the parameters and statistics.

    The tree is written to a temporary sibling directory and renamed into place when
    finished, so an interrupted run never leaves a partial dataset at ``root``. If ``root``
    already holds a complete dataset with the same parameters it is kept as is.

    Args:
        root (str): Output directory.
        num_train (int): Training images. Defaults to 600.
        num_val (int): Validation images. Defaults to 100.
        img_size (int): Side of the square images in pixels. Defaults to 96.
        seed (int): Seed of the whole dataset. Defaults to 0.
        force (bool): Regenerate even if a complete dataset exists, and replace a
            non-empty directory that is not a toy dataset. Defaults to False.

    Returns:
        dict: Summary with ``root``, the parameters, ``classes``, per-split statistics
        (``train``/``val``: images, images_per_class, multi_class_images, pixel_fraction),
        ``seconds`` and ``skipped`` (True when an existing dataset was reused).

    Raises:
        FileExistsError: If ``root`` is a non-empty directory without a complete marker
            and ``force`` is False.
    """
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError(f'need a positive number of images, got num_train={num_train}, '
                         f'num_val={num_val}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if img_size < 32:
        raise ValueError(f'img_size must be >= 32, got {img_size}')
    root = osp.abspath(root)
    params = _params(num_train, num_val, img_size, seed)

    marker = read_complete_marker(root)
    if osp.exists(root) and not force:
        if marker is not None and marker.get('params') == params:
            print_log(f'Toy dataset at {root} is complete with the same parameters; '
                      'skipping (use force to regenerate)', 'current')
            return dict(marker['summary'], skipped=True, seconds=0.0)
        if marker is None and (not osp.isdir(root) or os.listdir(root)):
            raise FileExistsError(
                f'{root} exists and is not a toy dataset made by this generator (no '
                f'{COMPLETE_MARKER} marker); refusing to replace it without force')

    start = time.perf_counter()
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-', dir=parent)
    print_log(f'Generating toy dataset ({num_train} train + {num_val} val images, '
              f'{img_size}px, seed {seed}) into {root}', 'current')
    try:
        stats = _write_tree(tmp, num_train, num_val, img_size, seed)
        summary = dict(root=root, **params, classes=list(TOY_CLASSES), **stats)
        with open(osp.join(tmp, COMPLETE_MARKER), 'w', encoding='utf-8') as f:
            json.dump(dict(params=params, summary=summary), f, indent=2)
        _swap_into_place(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    print_log(f'Toy dataset written to {root} in {seconds:.1f}s', 'current')
    return dict(summary, skipped=False, seconds=seconds)


def _swap_into_place(tmp: str, root: str) -> None:
    """Rename a finished tree to ``root``, replacing what was there."""
    if not osp.lexists(root):
        os.rename(tmp, root)
        return
    old = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.old-', dir=osp.dirname(root))
    os.rmdir(old)  # only the unique name is wanted
    os.rename(root, old)
    try:
        os.rename(tmp, root)
    except BaseException:
        os.rename(old, root)
        raise
    if osp.isdir(old) and not osp.islink(old):
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.unlink(old)
