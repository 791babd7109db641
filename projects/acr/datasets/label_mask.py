"""Reading segmentation masks whose pixel values are class ids (VOC PNGs, COCO renderings)."""
import os.path as osp

import numpy as np
from PIL import Image, UnidentifiedImageError

# Single-channel (8/16/32-bit) and palette images store class ids directly.
_MASK_MODES = ('L', 'P', 'I', 'I;16', 'I;16L', 'I;16B')


def read_label_mask(path: str) -> np.ndarray:
    """Read a segmentation mask that stores class ids as pixel values.

    Args:
        path (str): Path of a single-channel or palette image (PNG in VOC).

    Returns:
        np.ndarray: Class ids of shape (H, W). Palette images give their indices.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not an image, or is not single-channel / palette.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Segmentation mask not found: {path}')
    try:
        with Image.open(path) as img:
            if img.mode not in _MASK_MODES:
                raise ValueError(
                    f'Segmentation mask {path} must be a single-channel or palette image '
                    f'(PIL mode in {_MASK_MODES}), got mode {img.mode!r}: RGB colour masks '
                    'must be converted to class-id masks first')
            return np.asarray(img)
    except UnidentifiedImageError as e:
        raise ValueError(f'Segmentation mask {path} is not a readable image') from e
