# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Image loading that turns any readable image into 3-channel BGR and names bad files."""
import io
import logging
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageOps

# Modes whose pixels carry transparency once converted to RGBA.
_ALPHA_MODES = ('RGBA', 'RGBa', 'LA', 'La', 'PA')
# 16-bit greyscale: PIL's own conversion to 8 bit clips at 255 instead of scaling.
_16BIT_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N')


def decode_image_bgr(data: bytes, source: str = '<bytes>', exif_orientation: bool = False,
                     alpha_background: int = 255) -> np.ndarray:
    """Decodes encoded image bytes into a 3-channel BGR uint8 array.

    Every PIL mode is mapped to three channels: greyscale (``L``, ``1``, 16-bit ``I;16``)
    is replicated, ``CMYK`` and ``YCbCr`` are converted to RGB, and images with
    transparency (``RGBA``, ``LA``, palette with a transparent entry) are composited on a
    uniform background (white by default). Compositing rather than dropping alpha keeps
    the colour an encoder stored under fully transparent pixels (often black or garbage)
    out of the image; white is how such images are normally displayed.

    Args:
        data (bytes): Encoded image (JPEG, PNG, ...).
        source (str): File the bytes came from, quoted in error messages.
        exif_orientation (bool): Apply the EXIF orientation tag. Defaults to False:
            segmentation masks are aligned with the stored pixel array, and rotating the
            image would misalign them.
        alpha_background (int): Grey level (0-255) transparent pixels are composited on.
            Defaults to 255 (white).

    Returns:
        np.ndarray: uint8 array of shape (H, W, 3), BGR channel order.

    Raises:
        OSError: If the bytes cannot be decoded (truncated or corrupt file), naming
            ``source``.
        ValueError: If the image has a mode with no sensible RGB meaning (32-bit integer
            or float), naming ``source``.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            # Decoding is lazy: load() is where truncated or corrupt data is detected.
            img.load()
            if exif_orientation:
                img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img, source, alpha_background)
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:
        # PIL reports some malformed headers as SyntaxError.
        raise OSError(f'{source}: cannot decode image (truncated or corrupt?): {e}') from e
    return np.ascontiguousarray(rgb[..., ::-1])


def _to_rgb(img: Image.Image, source: str, alpha_background: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PIL image in any mode (see :func:`decode_image_bgr`)."""
    mode = img.mode
    if mode == 'RGB':
        return np.asarray(img)
    if mode in _16BIT_MODES:
        grey = (np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode in ('I', 'F'):
        raise ValueError(f'{source}: image mode {mode!r} (32-bit integer or float pixels) '
                         'has no defined RGB rendering; convert the file to 8-bit first')
    has_alpha = mode in _ALPHA_MODES or (mode in ('P', 'L', 'RGB')
                                         and 'transparency' in img.info)
    if not has_alpha:
        return np.asarray(img.convert('RGB'))
    rgba = np.asarray(img.convert('RGBA')).astype(np.uint16)
    alpha = rgba[..., 3:]
    # Integer "over" compositing with rounding: (c * a + bg * (255 - a) + 127) // 255.
    blended = (rgba[..., :3] * alpha + alpha_background * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(BaseTransform):
    """Loads an image as 3-channel BGR uint8, whatever its mode, with clear errors.

    A drop-in replacement of mmcv's ``LoadImageFromFile`` (same output keys and
    ``to_float32`` / ``backend_args`` arguments) that decodes with PIL, so that

    * greyscale, CMYK, palette and transparent images all come out as (H, W, 3) BGR
      (see :func:`decode_image_bgr`; transparency is composited on white);
    * a truncated or corrupt file raises ``OSError`` naming it instead of yielding a
      partly grey image (OpenCV only prints a warning for a truncated JPEG);
    * a missing file raises ``FileNotFoundError`` naming it.

    Truncation is detected by PIL as long as ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` keeps
    its default, False; code that sets it True makes truncated files load silently.

    With ``on_error='skip'`` such files are instead reported with a warning that names
    the file, and ``None`` is returned. mmengine's ``BaseDataset`` with
    ``test_mode=False`` (training) then draws another index, so training carries on
    without the image. Skipping is meant for training pipelines only: in evaluation a
    dataset with ``test_mode=True`` raises on ``None`` (mmengine's message does not
    name the file, the warning before it does), and one with ``test_mode=False`` would
    count a random other image twice and bias the metric. Evaluation pipelines should
    keep the default ``'raise'``.

    Skipped files are counted on the instance (:attr:`num_skipped`,
    :attr:`skipped_paths`, :meth:`summary`). Each dataloader worker process holds its
    own copy of the pipeline, so with ``num_workers > 0`` every copy counts its own
    files; each warning states the count of the process that emits it, so the log holds
    the complete record either way.

    Required keys: ``img_path``.
    Added keys: ``img`` (H, W, 3) uint8 (float32 with ``to_float32``), ``img_shape``,
    ``ori_shape``.

    Args:
        to_float32 (bool): Return a float32 image. Defaults to False.
        on_error (str): ``'raise'`` (default) or ``'skip'`` for missing, truncated or
            undecodable files.
        exif_orientation (bool): Apply the EXIF orientation tag. Defaults to False, as
            masks are aligned with the stored pixels (mmcv's loader applies it).
        alpha_background (int): Grey level transparent pixels are composited on.
            Defaults to 255 (white).
        backend_args (dict, optional): mmengine file backend arguments, for images that
            are not on the local disk. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 on_error: str = 'raise',
                 exif_orientation: bool = False,
                 alpha_background: int = 255,
                 backend_args: Optional[dict] = None) -> None:
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if not 0 <= int(alpha_background) <= 255:
            raise ValueError(f'alpha_background must be in 0..255, got {alpha_background}')
        self.to_float32 = to_float32
        self.on_error = on_error
        self.exif_orientation = exif_orientation
        self.alpha_background = int(alpha_background)
        self.backend_args = None if backend_args is None else dict(backend_args)
        self.skipped_paths: List[str] = []

    @property
    def num_skipped(self) -> int:
        """Images this instance (in this process) has skipped so far."""
        return len(self.skipped_paths)

    def summary(self) -> str:
        """One line on the skipped images, for a log at the end of a run."""
        if not self.skipped_paths:
            return f'{type(self).__name__}: no image skipped'
        shown = ', '.join(self.skipped_paths[:5])
        more = f' and {self.num_skipped - 5} more' if self.num_skipped > 5 else ''
        return (f'{type(self).__name__}: skipped {self.num_skipped} unreadable image(s): '
                f'{shown}{more}')

    def _read(self, path: str) -> np.ndarray:
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(f'{path}: image file not found')
        data = fileio.get(path, backend_args=self.backend_args)
        return decode_image_bgr(data, source=path, exif_orientation=self.exif_orientation,
                                alpha_background=self.alpha_background)

    def transform(self, results: dict) -> Optional[dict]:
        """Loads ``results['img_path']``; returns None for a skipped file."""
        path = results['img_path']
        try:
            img = self._read(path)
        except (OSError, ValueError) as e:
            if self.on_error == 'raise':
                raise
            self.skipped_paths.append(path)
            print_log(f'Skipping unreadable image ({e}); {self.num_skipped} image(s) '
                      'skipped so far by this loader process', logger='current',
                      level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'on_error={self.on_error!r}, exif_orientation={self.exif_orientation}, '
                f'alpha_background={self.alpha_background}, '
                f'backend_args={self.backend_args})')
