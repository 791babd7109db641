"""Reading class-id masks from VOC palette PNGs and SBD ``.mat`` files, and writing them.

Every mask the converters write is a palette PNG like VOC's ``SegmentationClass``: the
pixel values are the class ids (255 = ignored) and the palette is VOC's colour map, so
viewers show colours while datasets read ids.
"""
import io
from typing import Tuple

import numpy as np
import scipy.io
from PIL import Image, UnidentifiedImageError

from ...pseudo_labels.label_writer import save_label_png
from .dataset_input import SourceFile

__all__ = ['check_class_ids', 'read_palette_mask', 'read_sbd_mask', 'save_label_png']

_ID_MODES = ('P', 'L')


def check_class_ids(mask: np.ndarray, num_classes: int, source: str,
                    ignore_index: int = 255, allow_ignore: bool = True) -> None:
    """Raises a ValueError naming ``source`` if ``mask`` holds ids outside the classes.

    Args:
        mask (np.ndarray): (H, W) integer class ids.
        num_classes (int): Classes including background: valid ids are 0..num_classes-1.
        source (str): The file, for the message.
        ignore_index (int): The ignore value. Defaults to 255.
        allow_ignore (bool): Whether ``ignore_index`` is valid. Defaults to True.
    """
    values = np.unique(mask)
    valid = (values >= 0) & (values < num_classes)
    if allow_ignore:
        valid |= values == ignore_index
    if not valid.all():
        allowed = f'0..{num_classes - 1}' + (f' and {ignore_index}' if allow_ignore else '')
        raise ValueError(f'{source}: mask holds values {values[~valid].tolist()} outside the '
                         f'class ids {allowed}')


def read_palette_mask(data: bytes, source: str) -> np.ndarray:
    """The class ids of a VOC ``SegmentationClass`` PNG: its palette indices.

    Args:
        data (bytes): The PNG file's bytes.
        source (str): The file, for messages.

    Returns:
        np.ndarray: (H, W) uint8 ids.

    Raises:
        ValueError: Not a readable image, or an RGB image (whose colours are not ids).
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode not in _ID_MODES:
                raise ValueError(
                    f'{source}: PIL mode {img.mode!r}; VOC masks are palette (or greyscale) '
                    'PNGs whose pixel indices are the class ids, and colours cannot stand in '
                    'for them. Use the masks of the official archive.')
            return np.asarray(img, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f'{source}: not a readable PNG (truncated or corrupt?): {e}') from e


def read_sbd_mask(data: bytes, source: str) -> np.ndarray:
    """The class ids of an SBD ``cls/*.mat`` file: ``GTcls.Segmentation``.

    Args:
        data (bytes): The ``.mat`` file's bytes (MATLAB 5 format, as SBD ships them).
        source (str): The file, for messages.

    Returns:
        np.ndarray: (H, W) uint8 ids.

    Raises:
        ValueError: Unreadable, no ``GTcls.Segmentation``, not 2-D or not integral.
    """
    try:
        mat = scipy.io.loadmat(io.BytesIO(data), squeeze_me=True, struct_as_record=False)
    except Exception as e:  # scipy raises ValueError, TypeError, OSError, ... on bad data
        raise ValueError(f'{source}: not a readable MATLAB file: {e}') from e
    gt = mat.get('GTcls')
    seg = getattr(gt, 'Segmentation', None)
    if seg is None:
        raise ValueError(f'{source}: no GTcls struct with a Segmentation field (keys: '
                         f'{sorted(k for k in mat if not k.startswith("__"))}); SBD class '
                         'masks are dataset/cls/*.mat')
    seg = np.asarray(seg)
    if seg.ndim != 2:
        raise ValueError(f'{source}: GTcls.Segmentation has shape {seg.shape}, expected (H, W)')
    if not np.issubdtype(seg.dtype, np.integer):
        if not np.issubdtype(seg.dtype, np.floating) or not np.array_equal(seg, np.round(seg)):
            raise ValueError(f'{source}: GTcls.Segmentation holds non-integer values '
                             f'(dtype {seg.dtype})')
    if seg.size and (seg.min() < 0 or seg.max() > 255):
        raise ValueError(f'{source}: GTcls.Segmentation values {seg.min()}..{seg.max()} '
                         'do not fit class ids 0..255')
    return seg.astype(np.uint8)


def write_voc_mask(task: Tuple[SourceFile, str, int]) -> Tuple[str, int]:
    """Worker task: a VOC palette PNG re-written as a class-id PNG, ids checked.

    Args:
        task (tuple): ``(source, out_file, num_classes)``.

    Returns:
        tuple: ``('voc', 1)``.
    """
    source, out_file, num_classes = task
    mask = read_palette_mask(source.read(), source.name)
    check_class_ids(mask, num_classes, source.name)
    save_label_png(out_file, mask)
    return 'voc', 1


def write_sbd_mask(task: Tuple[SourceFile, str, int]) -> Tuple[str, int]:
    """Worker task: an SBD ``.mat`` mask written as a class-id PNG, ids checked.

    SBD's masks have no ignore band; a 255 would still be kept as ignored.

    Args:
        task (tuple): ``(source, out_file, num_classes)``.

    Returns:
        tuple: ``('sbd', 1)``.
    """
    source, out_file, num_classes = task
    mask = read_sbd_mask(source.read(), source.name)
    check_class_ids(mask, num_classes, source.name)
    save_label_png(out_file, mask)
    return 'sbd', 1
