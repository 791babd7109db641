"""Resizes the image to a fixed size and leaves the mask at the original size."""
from typing import Dict, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ResizeImageOnly(BaseTransform):
    """Resizes ``img`` to a fixed (H, W), ignoring its aspect ratio; masks are untouched.

    The official ACR inference resizes every image to the crop size (384 x 384) before
    the ViT, so the token grid is the one seen in training, and upsamples the maps to the
    original image, where they are scored against the unresized mask. The image is
    resized in float32 (bilinear, OpenCV), as the official code resizes float pixels,
    so no rounding to uint8 happens in between.

    Required keys: ``img``.
    Modified keys: ``img`` (float32), ``img_shape``.
    Added keys: ``scale_factor`` (w, h).

    Args:
        scale (Sequence[int]): Output size as (H, W).
    """

    def __init__(self, scale: Sequence[int]) -> None:
        if len(scale) != 2 or min(scale) < 1:
            raise ValueError(f'scale must be (H, W) with positive sizes, got {scale}')
        self.scale = (int(scale[0]), int(scale[1]))

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        h, w = img.shape[:2]
        th, tw = self.scale
        img = cv2.resize(img.astype(np.float32), (tw, th), interpolation=cv2.INTER_LINEAR)
        if img.ndim == 2:
            img = img[..., None]
        results['img'] = img
        results['img_shape'] = (th, tw)
        results['scale_factor'] = (tw / w, th / h)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'
