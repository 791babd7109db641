"""Label masks painted with a class palette, for pictures of masks and pseudo labels.

Numpy only, so the toy data writer can use it without the drawing stack (cv2).
"""
from typing import Sequence

import numpy as np

IGNORE_COLOUR = (255, 255, 255)


def colour_mask(mask: np.ndarray, palette: Sequence[Sequence[int]],
                ignore_index: int = 255) -> np.ndarray:
    """Paints a label mask with the palette; ``ignore_index`` is white.

    Args:
        mask (np.ndarray): (H, W) integer labels, 0 background.
        palette (Sequence[Sequence[int]]): (C + 1, 3) RGB colours.
        ignore_index (int): Label drawn in white.

    Returns:
        np.ndarray: uint8 (H, W, 3) RGB.

    Raises:
        ValueError: If a label other than ``ignore_index`` has no palette colour.
    """
    palette = np.asarray(palette, dtype=np.uint8)
    labels = mask.astype(np.int64)
    bad = (labels >= len(palette)) & (labels != ignore_index)
    if bad.any():
        raise ValueError(f'mask labels {np.unique(labels[bad]).tolist()} have no colour in a '
                         f'palette of {len(palette)}')
    lut = np.zeros((max(len(palette), ignore_index + 1), 3), dtype=np.uint8)
    lut[:len(palette)] = palette
    lut[ignore_index] = IGNORE_COLOUR
    return lut[labels]
