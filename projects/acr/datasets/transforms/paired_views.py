"""Two views of one image for consistency training."""
from typing import Dict, Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from .random_crop_pad import _axis_offsets
from .seeded_generator import SeededGenerator


@TRANSFORMS.register_module()
class PairedViews(BaseTransform):
    """Makes two views of one image for consistency training.

    **Mirror pair** (``geometric=None``, the pair used by ACR): placed after the usual
    resize / flip / crop, it adds the horizontal mirror of the (already augmented and
    cropped) image as the second view. Both views share one canvas, so token ``i`` of
    view one matches the mirrored token of view two; that is recorded as ``view_flip``.

    **Geometric pair** (``geometric=dict(...)``): placed right after loading, it draws
    each view independently: the long side resized to a random ``ratio_range`` x the crop,
    a random horizontal flip, a random crop (an image shorter than the crop sits at a
    random offset in a ``pad_val`` canvas, as :class:`RandomCropPad`). It records the
    geometric map between the views as ``view_affine`` (2, 3): a point ``(x, y)`` of view
    one in normalised coordinates (``-1``/``1`` at the canvas edges) shows the same image
    content as the point ``M[:, :2] @ (x, y) + M[:, 2]`` of view two. Optional colour
    jitter is drawn per view too.

    Required keys: ``img`` (H, W, 3).
    Modified keys: ``img`` becomes (2, H, W, 3) (the crop size with ``geometric``),
    ``img_shape``.
    Added keys: ``view_flip`` (bool) for a mirror pair, ``view_affine`` (float32 (2, 3))
    for a geometric pair.

    Args:
        flip (bool): Mirror pair: mirror the second view. With False the views are
            identical (a control for ablations).
        geometric (dict, optional): Geometric pair settings: ``crop_size`` (H, W),
            ``ratio_range`` (lo, hi) of the long side over the crop's long side (default
            (0.9, 1.14), the published resize), ``flip_prob`` (default 0.5), ``pad_val``
            (per-channel canvas value, default 0).
        color_jitter (dict, optional): Per-view random ``brightness``, ``contrast`` and
            ``saturation`` factors drawn from ``[1 - v, 1 + v]``.
        seed (int, optional): Seed of a private generator; None draws from numpy's
            global generator, which mmengine seeds per worker.
    """

    def __init__(self,
                 flip: bool = True,
                 geometric: Optional[Dict] = None,
                 color_jitter: Optional[Dict] = None,
                 seed: Optional[int] = None) -> None:
        self.flip = flip
        self.geometric = None
        if geometric is not None:
            geometric = dict(geometric)
            unknown = set(geometric) - {'crop_size', 'ratio_range', 'flip_prob', 'pad_val'}
            if unknown or 'crop_size' not in geometric:
                raise ValueError(f'PairedViews: geometric needs crop_size and takes '
                                 f'ratio_range, flip_prob, pad_val; got {sorted(geometric)}')
            lo, hi = geometric.get('ratio_range', (0.9, 1.14))
            if not 0 < lo <= hi:
                raise ValueError(f'PairedViews: bad ratio_range {(lo, hi)}')
            self.geometric = dict(
                crop_size=tuple(int(v) for v in geometric['crop_size']),
                ratio_range=(float(lo), float(hi)),
                flip_prob=float(geometric.get('flip_prob', 0.5)),
                pad_val=tuple(float(v) for v in geometric.get('pad_val', (0.0, ))))
        jitter = dict(color_jitter or {})
        unknown = set(jitter) - {'brightness', 'contrast', 'saturation'}
        if unknown:
            raise ValueError(f'PairedViews: color_jitter takes brightness, contrast and '
                             f'saturation, got {sorted(unknown)}')
        self.color_jitter = jitter
        self._generator = SeededGenerator(seed)

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        if img.ndim != 3:
            raise ValueError(f'PairedViews expects one (H, W, C) image, got shape '
                             f'{img.shape} for {results.get("img_path")}')
        # Only drawn when needed: a mirror pair leaves the global random stream untouched.
        rng = self._generator() if self.geometric or self.color_jitter else None
        if self.geometric is None:
            views = [img, img[:, ::-1] if self.flip else img]
            results['view_flip'] = self.flip
        else:
            (v1, m1), (v2, m2) = self._view(img, rng), self._view(img, rng)
            views = [v1, v2]
            # Normalised coordinates of view one -> source pixels -> view two.
            to_source = np.linalg.inv(np.vstack([m1, [0.0, 0.0, 1.0]]))
            results['view_affine'] = (m2 @ to_source).astype(np.float32)
            results['img_shape'] = self.geometric['crop_size']
        if self.color_jitter:
            views = [self._jitter(v, rng) for v in views]
        dtype = np.result_type(*[v.dtype for v in views])
        results['img'] = np.stack([v.astype(dtype, copy=False) for v in views])
        return results

    def _view(self, img: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray,
                                                                        np.ndarray]:
        """One randomly resized, flipped and cropped view and its (2, 3) map from source
        pixel coordinates (edges at 0 and W) to the view's normalised coordinates."""
        cfg = self.geometric
        ch, cw = cfg['crop_size']
        h, w = img.shape[:2]
        scale = rng.uniform(*cfg['ratio_range']) * max(ch, cw) / max(h, w)
        nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        resized = mmcv.imresize(img, (nw, nh), interpolation='bilinear')
        sy, sx = nh / h, nw / w  # the scale actually applied along each axis
        flip = rng.random() < cfg['flip_prob']
        if flip:
            resized = resized[:, ::-1]
        src_y, dst_y = _axis_offsets(nh, ch, rng)
        src_x, dst_x = _axis_offsets(nw, cw, rng)
        hh, ww = min(ch, nh), min(cw, nw)
        canvas = np.empty((ch, cw, img.shape[2]), np.float32)
        canvas[...] = np.asarray(cfg['pad_val'], np.float32)
        canvas[dst_y:dst_y + hh, dst_x:dst_x + ww] = resized[src_y:src_y + hh,
                                                             src_x:src_x + ww]
        # Canvas pixel position of a source point: x * sx (resize), mirrored in the
        # resized image, minus the crop start plus the canvas offset.
        ax, bx = (-sx, nw) if flip else (sx, 0.0)
        bx += dst_x - src_x
        by = float(dst_y - src_y)
        # ... then to normalised coordinates u = 2 x / W - 1.
        matrix = np.array([[2 * ax / cw, 0.0, 2 * bx / cw - 1],
                           [0.0, 2 * sy / ch, 2 * by / ch - 1]])
        return canvas, matrix

    def _jitter(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random brightness, contrast and saturation of one view (float32 out)."""
        out = img.astype(np.float32)
        for name in ('brightness', 'contrast', 'saturation'):
            amount = float(self.color_jitter.get(name, 0.0))
            if amount <= 0:
                continue
            factor = rng.uniform(max(0.0, 1 - amount), 1 + amount)
            if name == 'brightness':
                out = out * factor
            elif name == 'contrast':
                out = (out - out.mean()) * factor + out.mean()
            else:
                grey = out.mean(axis=2, keepdims=True)
                out = (out - grey) * factor + grey
        return np.clip(out, 0, 255)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(flip={self.flip}, geometric={self.geometric}, '
                f'color_jitter={self.color_jitter})')
