"""Random crop to a fixed size; a smaller image sits at a random offset in the canvas."""
from typing import Dict, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from .seeded_generator import SeededGenerator


def _axis_offsets(size: int, crop: int, rng: np.random.Generator) -> Tuple[int, int]:
    """(source start, canvas start) along one axis, as the official ``RandomCrop``."""
    space = size - crop
    if space > 0:
        return int(rng.integers(space + 1)), 0
    return 0, int(rng.integers(-space + 1))


@TRANSFORMS.register_module()
class RandomCropPad(BaseTransform):
    """Crops a random (H, W) window; along an axis where the image is shorter, the image
    is placed at a random offset in a canvas filled with ``pad_val``.

    This is the crop of the official ACR training (``myTool.RandomCrop``): each axis is
    handled on its own, so an image that is wide but short is cropped horizontally and
    shifted vertically. mmcv's ``RandomCrop`` + ``Pad`` instead always pads at the bottom
    and right, which ties the image content to fixed absolute position embeddings.

    The official code pads after normalising, with zeros, i.e. with the mean pixel; pass
    the mean as ``pad_val`` (in the image's channel order) for the same. The image becomes
    float32, so the padding is exactly the mean rather than its uint8 rounding.

    Required keys: ``img``; ``gt_seg_map`` when present.
    Modified keys: ``img``, ``img_shape``, ``gt_seg_map``.
    Added keys: ``crop_bbox`` (x1, y1, x2, y2) of the source window, ``canvas_offset``
    (top, left) where it was placed.

    Args:
        crop_size (Sequence[int]): (H, W) of the output.
        pad_val (Sequence[float]): Per-channel canvas value of the image.
        seg_pad_val (int): Canvas value of the mask (ignored label).
        seed (int, optional): Seed of a private generator; None draws from numpy's
            global generator, which mmengine seeds per worker.
    """

    def __init__(self,
                 crop_size: Sequence[int],
                 pad_val: Sequence[float] = (0.0, 0.0, 0.0),
                 seg_pad_val: int = 255,
                 seed=None) -> None:
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f'crop_size must be (H, W) with positive sizes, got {crop_size}')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.pad_val = tuple(float(v) for v in pad_val)
        self.seg_pad_val = int(seg_pad_val)
        self._generator = SeededGenerator(seed)

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        h, w = img.shape[:2]
        ch, cw = self.crop_size
        rng = self._generator()
        src_y, dst_y = _axis_offsets(h, ch, rng)
        src_x, dst_x = _axis_offsets(w, cw, rng)
        hh, ww = min(ch, h), min(cw, w)

        channels = img.shape[2] if img.ndim == 3 else 1
        if len(self.pad_val) not in (1, channels):
            raise ValueError(f'pad_val has {len(self.pad_val)} values for an image with '
                             f'{channels} channels ({results.get("img_path")})')
        canvas = np.empty((ch, cw, channels), np.float32)
        canvas[...] = np.asarray(self.pad_val, np.float32)
        canvas[dst_y:dst_y + hh, dst_x:dst_x + ww] = img.reshape(h, w, channels)[
            src_y:src_y + hh, src_x:src_x + ww]
        results['img'] = canvas if img.ndim == 3 else canvas[..., 0]
        results['img_shape'] = (ch, cw)
        results['crop_bbox'] = (src_x, src_y, src_x + ww, src_y + hh)
        results['canvas_offset'] = (dst_y, dst_x)
        for key in results.get('seg_fields', []):
            seg = results[key]
            out = np.full((ch, cw), self.seg_pad_val, dtype=seg.dtype)
            out[dst_y:dst_y + hh, dst_x:dst_x + ww] = seg[src_y:src_y + hh, src_x:src_x + ww]
            results[key] = out
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')
