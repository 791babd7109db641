# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Cluttered toy backgrounds: smooth noise, desaturated distractor blobs and lines."""
import colorsys

import numpy as np

from .shapes import _coords, _random_blob, _scaled, _window


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int,
                  channels: int) -> np.ndarray:
    """Value noise in [-1, 1] of shape (height, width, channels), ``cells`` bumps per side."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1, channels))
    ys = (np.arange(height) + 0.5) / height * cells
    xs = (np.arange(width) + 0.5) / width * cells
    y0 = np.minimum(ys.astype(int), cells - 1)
    x0 = np.minimum(xs.astype(int), cells - 1)
    fy, fx = ys - y0, xs - x0
    fy = (fy * fy * (3 - 2 * fy))[:, None, None]  # smoothstep: no visible grid creases
    fx = (fx * fx * (3 - 2 * fx))[None, :, None]
    g00 = grid[y0[:, None], x0[None, :]]
    g01 = grid[y0[:, None], x0[None, :] + 1]
    g10 = grid[y0[:, None] + 1, x0[None, :]]
    g11 = grid[y0[:, None] + 1, x0[None, :] + 1]
    return (g00 * (1 - fx) + g01 * fx) * (1 - fy) + (g10 * (1 - fx) + g11 * fx) * fy


def _dull_colour(rng: np.random.Generator, value_range=(0.3, 0.75)) -> np.ndarray:
    """A random low-saturation colour, far from every class colour."""
    return np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.0, 0.22),
                                        rng.uniform(*value_range)))


def _grey_texture(rng: np.random.Generator, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A class-like texture in {-1, 0, 1} (0: plain), for distractors."""
    kind = rng.integers(0, 4)
    period = rng.uniform(4.5, 6.5)
    if kind == 1:
        pattern = np.sin(2 * np.pi * u / period) > 0
    elif kind == 2:
        pattern = (np.floor(u / period) + np.floor(v / period)) % 2 > 0
    elif kind == 3:
        du, dv = np.mod(u, period) - period / 2, np.mod(v, period) - period / 2
        pattern = du**2 + dv**2 <= (0.3 * period)**2
    else:
        return np.zeros_like(u)
    return pattern * 2.0 - 1.0


def _render_background(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """Cluttered background of shape (size, size, 3) in [0, 1].

    Drawn on a grid ``scale`` times finer than the image pixels, so that ``size // scale`` is
    the side of the image it is averaged down to.
    """
    base = _dull_colour(rng)
    luma = 0.10 * _smooth_noise(rng, size, size, int(rng.integers(2, 5)), 1)
    luma += 0.05 * _smooth_noise(rng, size, size, int(rng.integers(6, 12)), 1)
    chroma = 0.04 * _smooth_noise(rng, size, size, 3, 3)
    img = base + luma + chroma

    img_size = size // scale
    for _ in range(int(rng.integers(2, 7))):
        radius = rng.uniform(0.08, 0.3) * img_size
        cx, cy = rng.uniform(0, img_size, 2)
        blob = _random_blob(rng, float(cx), float(cy), float(radius),
                            float(rng.uniform(0.35, 1.0)))
        win = _window(blob.extent, cx, cy, img_size)
        u, v = blob.to_local(*_coords(win, scale))
        inside = blob.contains(u, v)
        region = img[_scaled(win, scale)]
        colour = np.clip(region.mean((0, 1)) + rng.choice([-1, 1]) * rng.uniform(0.06, 0.18),
                         0.05, 0.95)
        value = float(np.clip(colour.mean(), 0.15, 0.85))
        colour = 0.6 * colour + 0.4 * _dull_colour(rng, (value - 0.1, value + 0.1))
        shade = 1 + rng.uniform(0.05, 0.15) * _grey_texture(rng, u, v)
        region[inside] = (colour * shade[..., None])[inside]

    ys = (np.arange(size) + 0.5) / scale
    for _ in range(int(rng.integers(1, 5))):
        p0, p1 = rng.uniform(0, img_size, (2, 2))
        width = rng.uniform(0.8, 2.5)
        d = p1 - p0
        t = ((ys[None, :] - p0[0]) * d[0] + (ys[:, None] - p0[1]) * d[1]) / max(d @ d, 1e-6)
        t = np.clip(t, 0, 1)
        dist2 = (ys[None, :] - p0[0] - t * d[0])**2 + (ys[:, None] - p0[1] - t * d[1])**2
        line = dist2 <= (width / 2)**2
        delta = rng.choice([-1, 1]) * rng.uniform(0.06, 0.16)
        img[line] = np.clip(img[line] + delta + 0.03 * rng.normal(size=3), 0, 1)
    return img
