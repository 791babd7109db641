"""ToCo's training views: shapes, the valid box and the recorded geometry of view 2."""
import random

import numpy as np
import pytest
import torch

from projects.toco.datasets.transforms import ToCoViews
from projects.toco.datasets.transforms import toco_views as module


def _coord_image(h, w):
    """BGR image whose red channel is the column and green channel the row (0-255)."""
    xs = np.linspace(0, 255, w)[None, :].repeat(h, 0)
    ys = np.linspace(0, 255, h)[:, None].repeat(w, 1)
    rgb = np.stack([xs, ys, np.full_like(xs, 128)], -1).round().astype(np.uint8)
    return np.ascontiguousarray(rgb[..., ::-1])


def _seed(s):
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)


def test_views_shapes_and_box():
    _seed(0)
    t = ToCoViews(crop_size=64)
    for h, w in ((40, 30), (90, 120)):
        out = t(dict(img=_coord_image(h, w), img_path='x.jpg'))
        assert out['img'].shape == (3, 64, 64, 3) and out['img'].dtype == np.uint8
        y0, y1, x0, x1 = out['img_box']
        assert 0 <= y0 < y1 <= 64 and 0 <= x0 < x1 <= 64
        assert out['view_affine'].shape == (2, 3)


@pytest.mark.parametrize('seed', range(6))
def test_view_affine_maps_view_one_onto_view_two(seed, monkeypatch):
    # Without the photometric changes, the colour of a point encodes its source position:
    # view 1 at p and view 2 at view_affine(p) must show the same source pixel.
    t = ToCoViews(crop_size=64, rescale_range=(0.8, 1.6))
    t.jitter = lambda im: im
    monkeypatch.setattr(ToCoViews, '_blur', staticmethod(lambda im, p: im))
    monkeypatch.setattr(module.ImageOps, 'solarize', lambda im: im)
    _seed(seed)
    out = t(dict(img=_coord_image(60, 80), img_path='x.jpg'))
    v1 = out['img'][0][..., ::-1].astype(float)
    v2 = out['img'][1][..., ::-1].astype(float)
    y0, y1, x0, x1 = out['img_box']
    rows, cols = np.meshgrid(np.arange(y0 + 2, y1 - 2, 3), np.arange(x0 + 2, x1 - 2, 3),
                             indexing='ij')
    u = (2 * cols + 1) / 64 - 1
    v = (2 * rows + 1) / 64 - 1
    m = out['view_affine'].astype(float)
    u2 = m[0, 0] * u + m[0, 1] * v + m[0, 2]
    v2n = m[1, 0] * u + m[1, 1] * v + m[1, 2]
    c2 = ((u2 + 1) * 64 - 1) / 2
    r2 = ((v2n + 1) * 64 - 1) / 2
    inside = (c2 > 1) & (c2 < 62) & (r2 > 1) & (r2 < 62)
    if not inside.any():
        pytest.skip('the views share no content at this seed')
    a = v1[rows[inside], cols[inside], :2]
    b = v2[np.rint(r2[inside]).astype(int), np.rint(c2[inside]).astype(int), :2]
    # One pixel of view 2 spans up to ~10 colour levels of the coordinate ramps.
    assert np.abs(a - b).max() < 14
