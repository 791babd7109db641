# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""One toy sample: objects placed on a background, antialiased, lit and labelled."""
from typing import List, Tuple

import numpy as np

from ..datasets.toy_meta import TOY_CLASSES
from .appearance import _PAINTERS
from .background import _render_background, _smooth_noise
from .shapes import _coords, _random_object, _scaled, _ToyObject, _window

_SUPERSAMPLE = 2          # image rendered at 2x and averaged down: antialiased edges
_MIN_VISIBLE = 0.45       # an object keeps at least this fraction of its area unoccluded


def _place_objects(rng: np.random.Generator, img_size: int) -> Tuple[List[_ToyObject],
                                                                     np.ndarray]:
    """Draw 1-3 objects so that each stays mostly visible.

    Returns:
        tuple: The objects in drawing order and the instance map of shape (S, S), int16,
        0 for background and ``i + 1`` for object ``i``.
    """
    num = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
    classes = rng.integers(1, len(TOY_CLASSES), num)
    inst = np.zeros((img_size, img_size), dtype=np.int16)
    objects: List[_ToyObject] = []
    areas: List[int] = []
    min_area = max(12, int(0.006 * img_size * img_size))
    for class_id in classes:
        for _ in range(12):
            obj = _random_object(rng, int(class_id), img_size)
            win = _window(obj.extent, obj.body.cx, obj.body.cy, img_size)
            u, v = obj.body.to_local(*_coords(win, 1))
            inside, _ = obj.regions(u, v)
            area = int(inside.sum())
            if area < min_area:
                continue
            trial = inst.copy()
            trial[win][inside] = len(objects) + 1
            visible = np.bincount(trial.ravel(), minlength=len(objects) + 2)[1:]
            if all(visible[i] >= _MIN_VISIBLE * a for i, a in enumerate(areas)):
                inst = trial
                objects.append(obj)
                areas.append(area)
                break
    return objects, inst


def render_toy_sample(rng: np.random.Generator,
                      img_size: int = 96) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one image and its mask.

    Args:
        rng (np.random.Generator): Source of all randomness of the sample.
        img_size (int): Side of the square image in pixels. Defaults to 96.

    Returns:
        tuple[np.ndarray, np.ndarray]: RGB image of shape (S, S, 3), uint8, and mask of
        shape (S, S), uint8, with 0 background, 1..5 the classes of :data:`TOY_CLASSES`
        and 255 on a one-pixel band along object boundaries.
    """
    scale = _SUPERSAMPLE
    objects, inst = _place_objects(rng, img_size)
    img = _render_background(rng, img_size * scale, scale)

    for obj in objects:
        win = _window(obj.extent, obj.body.cx, obj.body.cy, img_size)
        u, v = obj.body.to_local(*_coords(win, scale))
        inside, part = obj.regions(u, v)
        colour = _PAINTERS[obj.class_id](obj, u, v, part)
        colour = colour * obj.gain + np.asarray(obj.shift)
        region = img[_scaled(win, scale)]
        region[inside] = colour[inside]

    # Antialias, then light the scene unevenly and add sensor noise.
    img = img.reshape(img_size, scale, img_size, scale, 3).mean((1, 3))
    img *= 1 + 0.12 * _smooth_noise(rng, img_size, img_size, 2, 1)
    img += rng.normal(0, 0.015, img.shape)
    img = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)

    class_of = np.array([0] + [o.class_id for o in objects], dtype=np.uint8)
    mask = class_of[inst]
    # One-pixel boundary band on the side of the upper instance (background is lowest).
    band = np.zeros_like(mask, dtype=bool)
    band[:, :-1] |= inst[:, :-1] > inst[:, 1:]
    band[:, 1:] |= inst[:, 1:] > inst[:, :-1]
    band[:-1, :] |= inst[:-1, :] > inst[1:, :]
    band[1:, :] |= inst[1:, :] > inst[:-1, :]
    mask[band] = 255
    return img, mask
