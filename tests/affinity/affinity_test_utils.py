"""Helpers of the affinity tests (imported by name: tests/ has no packages)."""
import os.path as osp

import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'affinity', 'affinitynet_r18-d8_1xb8-6e_toy-96x96.py')


def write_png(path, array):
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def shapes_sample(rng, size=48):
    """An image with a bright square (class 1) and a dark disc (class 2) on grey noise,
    and its true mask."""
    img = rng.integers(100, 140, size=(size, size, 3)).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    y, x = rng.integers(4, size // 2 - 4, size=2)
    s = rng.integers(10, 16)
    mask[y:y + s, x:x + s] = 1
    img[y:y + s, x:x + s] = (230, 60, 40)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 2 + 6, size - 8, size=2)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < 36
    mask[disc] = 2
    img[disc] = (30, 40, 200)
    return img, mask
