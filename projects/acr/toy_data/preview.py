# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""A picture of toy samples: each image beside its mask overlay, with a class legend."""
from typing import Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..datasets.toy_meta import TOY_CLASSES, TOY_PALETTE
from ..visualization.mask_palette import colour_mask


def _overlay(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Image blended with the class colours of its mask; ignore pixels in white."""
    colour = colour_mask(mask, TOY_PALETTE).astype(np.float64)
    alpha = np.where(mask == 0, 0.0, 0.6)[..., None]
    out = img * (1 - alpha) * np.where(mask == 0, 0.55, 1.0)[..., None] + colour * alpha
    return out.astype(np.uint8)


def save_preview(samples: Sequence[Tuple[np.ndarray, np.ndarray]], path: str,
                 columns: int = 2, zoom: int = 2) -> None:
    """Save a grid of ``image | mask overlay`` pairs with a class legend.

    Args:
        samples (Sequence[tuple]): (image (H, W, 3) uint8, mask (H, W) uint8) pairs.
        path (str): Output PNG.
        columns (int): Pairs per row. Defaults to 2.
        zoom (int): Nearest-neighbour upscaling factor. Defaults to 2.
    """
    gap = 4
    h, w = samples[0][1].shape
    th, tw = h * zoom, w * zoom
    rows = -(-len(samples) // columns)
    legend_h = 18
    canvas = np.full((rows * (th + gap) + gap + legend_h, columns * (2 * tw + 3 * gap) + gap, 3),
                     255, dtype=np.uint8)
    for i, (img, mask) in enumerate(samples):
        r, c = divmod(i, columns)
        y = gap + r * (th + gap)
        x = gap + c * (2 * tw + 3 * gap)
        for j, tile in enumerate((img, _overlay(img, mask))):
            tile = tile.repeat(zoom, 0).repeat(zoom, 1)
            canvas[y:y + th, x + j * (tw + gap):x + j * (tw + gap) + tw] = tile
    pil = Image.fromarray(canvas)
    draw = ImageDraw.Draw(pil)
    x, y = gap, canvas.shape[0] - legend_h + 3
    for name, rgb in zip(TOY_CLASSES[1:], TOY_PALETTE[1:]):
        draw.rectangle([x, y, x + 10, y + 10], fill=tuple(rgb))
        draw.text((x + 14, y), name, fill=(0, 0, 0))
        x += 14 + 7 * len(name) + 10
    pil.save(path)
