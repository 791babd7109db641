"""The training views of ToCo: two global views and the source of the local crops."""
import random
from typing import Dict, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageFilter, ImageOps

try:
    import torchvision.transforms as T
    import torchvision.transforms.functional as TF
except ImportError:  # pragma: no cover - torchvision comes with the torch build
    T = TF = None


@TRANSFORMS.register_module()
class ToCoViews(BaseTransform):
    """ToCo's training augmentation (``VOC12ClsDataset`` with ``aug=True``).

    From the loaded image: resize by a random factor in ``rescale_range`` (PIL bilinear,
    ``int(s * w)``), mirror with probability 0.5, take a random ``crop_size`` crop (an image
    smaller than the crop sits at a random offset in a black canvas; ``img_box`` records
    the part of the crop that shows the image). From the crop:

    * view 1 (the classifier input and first global view): mirror (p 0.5), colour jitter
      (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1; p 0.8), greyscale (p 0.2),
      Gaussian blur (radius 0.1-2, always);
    * view 3 (the local crops are cut from it in the model): the same augmentations with
      blur at p 0.5.

    From the source image, view 2 (second global view): a random resized crop
    (``global_scale`` of the area, aspect 3/4-4/3, bicubic) to ``crop_size``, the same
    mirror / jitter / greyscale, blur at p 0.1 and solarisation at p 0.2.

    As in ToCo, ``img_box`` is not mirrored with view 1 (``mirror_box=True`` mirrors it),
    and view 3's mirror is drawn independently of view 1's. The random draws come from
    Python's, numpy's and torch's generators as in ToCo's code, which mmengine seeds per
    worker.

    Added keys: ``img`` (3, crop, crop, 3) BGR uint8 views, ``img_shape``, ``img_box``
    (int64 (4,) ``(y0, y1, x0, x1)``), ``view_affine`` (float32 (2, 3)): the map from view
    1's normalised coordinates (``-1`` / ``1`` at the canvas edges) to view 2's, for ACR.

    Args:
        crop_size (int): Side of the crops (ToCo: 448).
        rescale_range (tuple[float, float]): Random rescale (0.5, 2).
        global_scale (tuple[float, float]): Area range of view 2's crop (0.4, 1).
        mirror_box (bool): Mirror ``img_box`` with view 1 (a correction, off in ToCo).
    """

    def __init__(self,
                 crop_size: int = 448,
                 rescale_range: Tuple[float, float] = (0.5, 2.0),
                 global_scale: Tuple[float, float] = (0.4, 1.0),
                 mirror_box: bool = False) -> None:
        if T is None:
            raise ImportError('ToCoViews needs torchvision (installed with torch)')
        lo, hi = rescale_range
        if not 0 < lo <= hi:
            raise ValueError(f'ToCoViews: bad rescale_range {rescale_range}')
        self.crop_size = int(crop_size)
        self.rescale_range = (float(lo), float(hi))
        self.global_scale = tuple(float(v) for v in global_scale)
        self.mirror_box = bool(mirror_box)
        self.jitter = T.Compose([
            T.RandomApply([T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2,
                                         hue=0.1)], p=0.8),
            T.RandomGrayscale(p=0.2),
        ])

    @staticmethod
    def _blur(img: Image.Image, p: float) -> Image.Image:
        if random.random() <= p:
            return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(0.1, 2.0)))
        return img

    @staticmethod
    def _flip() -> bool:
        return bool(torch.rand(1) < 0.5)

    def _photometric(self, img: Image.Image, flip: bool) -> Image.Image:
        if flip:
            img = TF.hflip(img)
        return self.jitter(img)

    def transform(self, results: Dict) -> Dict:
        bgr = results['img']
        if bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ValueError(f'ToCoViews expects one (H, W, 3) image, got shape {bgr.shape} '
                             f'for {results.get("img_path")}')
        src = np.ascontiguousarray(bgr[..., ::-1].astype(np.uint8))
        h0, w0 = src.shape[:2]
        cs = self.crop_size

        # Rescale, mirror, crop (ToCo's random_scaling, random_fliplr, random_crop).
        ratio = random.uniform(*self.rescale_range)
        nw, nh = int(ratio * w0), int(ratio * h0)
        if nw < 1 or nh < 1:
            raise ValueError(f'ToCoViews: {results.get("img_path")} of size {h0}x{w0} '
                             f'vanishes at scale {ratio:.3f}')
        img = np.asarray(Image.fromarray(src).resize((nw, nh), resample=Image.BILINEAR))
        flip1 = random.random() > 0.5
        if flip1:
            img = img[:, ::-1]
        H, W = max(cs, nh), max(cs, nw)
        pad_y, pad_x = int(np.random.randint(H - nh + 1)), int(np.random.randint(W - nw + 1))
        canvas = np.zeros((H, W, 3), np.uint8)
        canvas[pad_y:pad_y + nh, pad_x:pad_x + nw] = img
        y0, x0 = random.randrange(0, H - cs + 1, 1), random.randrange(0, W - cs + 1, 1)
        crop = Image.fromarray(np.ascontiguousarray(canvas[y0:y0 + cs, x0:x0 + cs]))
        box = np.array([max(pad_y - y0, 0), min(cs, nh + pad_y - y0),
                        max(pad_x - x0, 0), min(cs, nw + pad_x - x0)], np.int64)

        # ToCo draws the local view first, then view 1, then view 2.
        view3 = self._blur(self._photometric(crop, self._flip()), 0.5)
        flip2 = self._flip()
        view1 = self._blur(self._photometric(crop, flip2), 1.0)
        pil_src = Image.fromarray(src)
        i, j, hh, ww = T.RandomResizedCrop.get_params(pil_src, scale=self.global_scale,
                                                      ratio=(3.0 / 4.0, 4.0 / 3.0))
        view2 = TF.resized_crop(pil_src, i, j, hh, ww, [cs, cs],
                                interpolation=T.InterpolationMode.BICUBIC)
        flip3 = self._flip()
        view2 = self._blur(self._photometric(view2, flip3), 0.1)
        if random.random() < 0.2:
            view2 = ImageOps.solarize(view2)
        if self.mirror_box and flip2:
            box = np.array([box[0], box[1], cs - box[3], cs - box[2]], np.int64)

        # Source pixel x -> view 1: scale, mirror in the resized image, shift into the
        # crop, mirror in the crop; y: scale, shift. Then to normalised coordinates.
        sx, sy = nw / w0, nh / h0
        ax, bx = (-sx, float(nw)) if flip1 else (sx, 0.0)
        bx += pad_x - x0
        if flip2:
            ax, bx = -ax, cs - bx
        m1 = np.array([[2 * ax / cs, 0.0, 2 * bx / cs - 1],
                       [0.0, 2 * sy / cs, 2 * (pad_y - y0) / cs - 1]])
        kx, ky = cs / ww, cs / hh
        ax2, bx2 = (-kx, cs + kx * j) if flip3 else (kx, -kx * j)
        m2 = np.array([[2 * ax2 / cs, 0.0, 2 * bx2 / cs - 1],
                       [0.0, 2 * ky / cs, 2 * (-ky * i) / cs - 1]])
        to_src = np.linalg.inv(np.vstack([m1, [0.0, 0.0, 1.0]]))
        results['view_affine'] = (m2 @ to_src).astype(np.float32)
        views = [np.asarray(v.convert('RGB'))[..., ::-1] for v in (view1, view2, view3)]
        results['img'] = np.ascontiguousarray(np.stack(views))
        results['img_shape'] = (cs, cs)
        results['img_box'] = box
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, rescale_range='
                f'{self.rescale_range}, global_scale={self.global_scale}, mirror_box='
                f'{self.mirror_box})')
