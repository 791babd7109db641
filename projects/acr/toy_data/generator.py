# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""A small synthetic segmentation dataset laid out like PASCAL VOC.

It lets the whole weakly supervised pipeline run on a CPU in minutes, with a tiny ViT
trained from scratch. The images are built so that this is learnable quickly but not
trivially:

* five object classes, each with a saturated class colour, a class texture that repeats over
  the whole body (dots, stripes, checks, veins, rings) and a small distinctive part at one
  end (head, muzzle, knob, stem, hub). Any 8x8 patch of an object carries the class cue, so a
  classifier may fire on a part only (partial maps, as on real photos) while full
  localisation remains possible;
* one to three objects of varied shape (superellipses with wavy outlines), size (15-45% of
  the image side), orientation and aspect; they may overlap, the later one on top;
* cluttered backgrounds: smooth noise and low-contrast distractor blobs and lines in
  desaturated colours. Distractors reuse the class textures in grey, so texture alone is
  not enough: the colour matters too;
* masks with class ids 1..5, 0 background and a one-pixel 255 band on object boundaries.

Every sample is drawn from its own ``np.random.default_rng([seed, split, index])`` stream
with numpy masks only, so the dataset is byte-for-byte reproducible and the number of
samples in one split does not change the other.
"""
import colorsys
import json
import os
import os.path as osp
import shutil
import tempfile
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from PIL import Image, ImageDraw

from ..datasets.toy_meta import TOY_CLASSES, TOY_PALETTE
from ..visualization.mask_palette import colour_mask

# Bump whenever the images a given seed produces change: complete datasets are recognised
# by their parameters and this version.
GENERATOR_VERSION = 2
COMPLETE_MARKER = '.complete'

_SPLITS = ('train', 'val')
_SUPERSAMPLE = 2          # image rendered at 2x and averaged down: antialiased edges
_MIN_VISIBLE = 0.45       # an object keeps at least this fraction of its area unoccluded
_JPEG_QUALITY = 95

# Colours of the class appearances, 8-bit RGB.
_COLOURS = MappingProxyType(
    dict(
        red=(205, 25, 30), black=(18, 16, 14), white=(242, 240, 232), orange=(245, 135, 15),
        blue=(30, 70, 215), yellow=(245, 215, 30), green=(35, 150, 45),
        light_green=(170, 230, 110), brown=(110, 65, 25), magenta=(200, 30, 190)))


def _rgb(name: str) -> np.ndarray:
    """A named colour as floats in [0, 1], shape (3,)."""
    return np.asarray(_COLOURS[name], dtype=np.float64) / 255.0


# ------------------------------------------------------------------------------------------
# Shapes
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Blob:
    """A rotated superellipse with a wavy outline, in pixel units.

    The outline in normalised local coordinates is ``rho(u', v') = 1 + sum_k a_k cos(k phi
    + psi_k)`` with ``rho`` the superellipse radius of power ``power`` and aspect ``aspect``.
    """

    cx: float
    cy: float
    radius: float       # half of the major axis
    aspect: float       # minor / major, <= 1
    angle: float        # rotation of the major axis, radians
    power: float        # 2: ellipse, larger: rounded rectangle
    amps: Tuple[float, ...]
    phases: Tuple[float, ...]

    @property
    def extent(self) -> float:
        """Radius of a disc around the centre that contains the shape."""
        # A superellipse of power p reaches 2 ** (1/2 - 1/p) times the radius on its diagonal.
        return self.radius * (1.0 + sum(abs(a) for a in self.amps)) * 2**0.5

    def to_local(self, x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Image coordinates (any broadcastable shapes) -> (u along major axis, v)."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        dx, dy = x - self.cx, y - self.cy
        return c * dx + s * dy, c * dy - s * dx

    def edge(self, phi: np.ndarray) -> np.ndarray:
        """Normalised outline radius at polar angle ``phi``."""
        out = np.ones_like(phi)
        for k, (a, p) in enumerate(zip(self.amps, self.phases), start=2):
            out += a * np.cos(k * phi + p)
        return out

    def contains(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Boolean inside mask for local coordinates."""
        un = u / self.radius
        vn = v / (self.radius * self.aspect)
        rho = (np.abs(un)**self.power + np.abs(vn)**self.power)**(1.0 / self.power)
        return rho <= self.edge(np.arctan2(vn, un))


def _random_blob(rng: np.random.Generator, cx: float, cy: float, radius: float,
                 aspect: float) -> _Blob:
    num_harmonics = 3
    return _Blob(
        cx=cx,
        cy=cy,
        radius=radius,
        aspect=aspect,
        angle=float(rng.uniform(0, np.pi)),
        power=float(rng.choice([2.0, 2.0, 3.0, 4.0])),
        amps=tuple(float(a) for a in rng.uniform(-0.09, 0.09, num_harmonics)),
        phases=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, num_harmonics)))


@dataclass(frozen=True)
class _ToyObject:
    """One object: a body blob of class ``class_id`` plus a small part at its +u tip."""

    class_id: int
    body: _Blob
    period: float                   # texture period in pixels
    offset: Tuple[float, float]     # texture phase in local coordinates
    gain: float                     # brightness jitter
    shift: Tuple[float, float, float]  # colour jitter, added to every class colour

    @property
    def tip(self) -> float:
        """u coordinate of the body outline along the major axis."""
        return self.body.radius * float(self.body.edge(np.zeros(1))[0])

    @property
    def part_radius(self) -> float:
        return max(2.5, 0.32 * self.body.radius * self.body.aspect**0.5)

    @property
    def extent(self) -> float:
        return max(self.body.extent, self.tip + 2.2 * self.part_radius) + 1.0

    def regions(self, u: np.ndarray, v: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(inside the object, inside its distinctive part) for local coordinates."""
        r = self.part_radius
        if self.class_id == 4:  # the leaf's part is a thin stem
            pu = u - self.tip
            part = (pu >= -r) & (pu <= 1.6 * r) & (np.abs(v) <= max(0.8, 0.22 * r))
        else:
            part = (u - 0.92 * self.tip)**2 + v**2 <= r * r
        return self.body.contains(u, v) | part, part


def _random_object(rng: np.random.Generator, class_id: int, img_size: int) -> _ToyObject:
    # The size is the mean diameter sqrt(major * minor), so that elongated objects are not
    # systematically smaller in area than round ones.
    size = rng.uniform(0.15, 0.45) * img_size
    aspect = float(rng.uniform(0.55, 1.0))
    radius = size / 2 / aspect**0.5
    margin = 0.6 * radius
    cx, cy = rng.uniform(margin, img_size - margin, 2)
    return _ToyObject(
        class_id=class_id,
        body=_random_blob(rng, float(cx), float(cy), radius, aspect),
        period=float(rng.uniform(4.5, 6.5)),
        offset=tuple(float(o) for o in rng.uniform(0, 20, 2)),
        gain=float(rng.uniform(0.85, 1.1)),
        shift=tuple(float(s) for s in rng.normal(0, 0.035, 3)))


# ------------------------------------------------------------------------------------------
# Class appearance: each painter maps local coordinates to RGB of shape (h, w, 3)
# ------------------------------------------------------------------------------------------
def _pick(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(cond[..., None], a, b)


def _paint_ladybird(obj: _ToyObject, u, v, part):
    d = obj.period * 1.25
    du = np.mod(u + obj.offset[0], d) - d / 2
    dv = np.mod(v + obj.offset[1], d) - d / 2
    body = _pick(du**2 + dv**2 <= (0.3 * d)**2, _rgb('black'), _rgb('red'))
    # Black head with two white eyes.
    r = obj.part_radius
    pu, pv = u - 0.92 * obj.tip - 0.3 * r, np.abs(v) - 0.45 * r
    head = _pick(pu**2 + pv**2 <= (0.28 * r + 0.5)**2, _rgb('white'), _rgb('black'))
    return _pick(part, head, body)


def _paint_tiger(obj: _ToyObject, u, v, part):
    wobble = 1.2 * np.sin(v / 3.0 + obj.offset[1])
    stripe = np.sin(2 * np.pi * (u + wobble + obj.offset[0]) / obj.period) > 0.35
    body = _pick(stripe, _rgb('black'), _rgb('orange'))
    # White muzzle with a black nose.
    r = obj.part_radius
    nose = (u - 0.92 * obj.tip - 0.45 * r)**2 + v**2 <= (0.3 * r + 0.4)**2
    return _pick(part, _pick(nose, _rgb('black'), _rgb('white')), body)


def _paint_chessboard(obj: _ToyObject, u, v, part):
    cell = obj.period * 0.75
    parity = (np.floor((u + obj.offset[0]) / cell) + np.floor((v + obj.offset[1]) / cell)) % 2
    body = _pick(parity > 0, _rgb('white'), _rgb('blue'))
    return _pick(part, _rgb('yellow') + 0 * u[..., None], body)


def _paint_leaf(obj: _ToyObject, u, v, part):
    # Chevron veins and a midrib.
    vein = np.mod((u + 0.8 * np.abs(v) + obj.offset[0]) / obj.period, 1.0) < 0.28
    vein |= np.abs(v) < 0.7
    body = _pick(vein, _rgb('light_green'), _rgb('green'))
    return _pick(part, _rgb('brown') + 0 * u[..., None], body)


def _paint_target(obj: _ToyObject, u, v, part):
    ring = np.sin(2 * np.pi * np.sqrt(u**2 + v**2) / obj.period) > 0
    body = _pick(ring, _rgb('white'), _rgb('magenta'))
    # Magenta hub with a yellow centre.
    r = obj.part_radius
    dot = (u - 0.92 * obj.tip)**2 + v**2 <= (0.35 * r + 0.3)**2
    return _pick(part, _pick(dot, _rgb('yellow'), _rgb('magenta')), body)


_PAINTERS: Tuple[Callable, ...] = (None, _paint_ladybird, _paint_tiger, _paint_chessboard,
                                   _paint_leaf, _paint_target)


# ------------------------------------------------------------------------------------------
# Background
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# One sample
# ------------------------------------------------------------------------------------------
def _window(extent: float, cx: float, cy: float, size: int) -> Tuple[slice, slice]:
    """Pixel window (rows, cols) of a disc, clipped to the image."""
    x0, x1 = max(0, int(np.floor(cx - extent))), min(size, int(np.ceil(cx + extent)) + 1)
    y0, y1 = max(0, int(np.floor(cy - extent))), min(size, int(np.ceil(cy + extent)) + 1)
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def _coords(win: Tuple[slice, slice], scale: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (in image pixels) of a window on a grid ``scale`` x finer.

    Returns x of shape (1, w) and y of shape (h, 1).
    """
    ys = (np.arange(win[0].start * scale, win[0].stop * scale) + 0.5) / scale
    xs = (np.arange(win[1].start * scale, win[1].stop * scale) + 0.5) / scale
    return xs[None, :], ys[:, None]


def _scaled(win: Tuple[slice, slice], scale: int) -> Tuple[slice, slice]:
    return tuple(slice(s.start * scale, s.stop * scale) for s in win)


def _place_objects(rng: np.random.Generator, img_size: int) -> Tuple[List[_ToyObject],
                                                                     np.ndarray]:
    """Draw 1-3 objects so that each stays mostly visible.

    Returns:
        tuple: The objects in drawing order and the instance map of shape (S, S), int16,
        0 for background and ``i + 1`` for object ``i``.
    """
    num = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
    classes = rng.integers(1, len(TOY_CLASSES), num)
    inst = np.zeros((img_size, img_size), dtype=np.int16)
    objects: List[_ToyObject] = []
    areas: List[int] = []
    min_area = max(12, int(0.006 * img_size * img_size))
    for class_id in classes:
        for _ in range(12):
            obj = _random_object(rng, int(class_id), img_size)
            win = _window(obj.extent, obj.body.cx, obj.body.cy, img_size)
            u, v = obj.body.to_local(*_coords(win, 1))
            inside, _ = obj.regions(u, v)
            area = int(inside.sum())
            if area < min_area:
                continue
            trial = inst.copy()
            trial[win][inside] = len(objects) + 1
            visible = np.bincount(trial.ravel(), minlength=len(objects) + 2)[1:]
            if all(visible[i] >= _MIN_VISIBLE * a for i, a in enumerate(areas)):
                inst = trial
                objects.append(obj)
                areas.append(area)
                break
    return objects, inst


def _render_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cluttered background of shape (size, size, 3) in [0, 1]."""
    base = _dull_colour(rng)
    luma = 0.10 * _smooth_noise(rng, size, size, int(rng.integers(2, 5)), 1)
    luma += 0.05 * _smooth_noise(rng, size, size, int(rng.integers(6, 12)), 1)
    chroma = 0.04 * _smooth_noise(rng, size, size, 3, 3)
    img = base + luma + chroma

    scale = _SUPERSAMPLE
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


def render_toy_sample(rng: np.random.Generator,
                      img_size: int = 96) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one image and its mask.

    Args:
        rng (np.random.Generator): Source of all randomness of the sample.
        img_size (int): Side of the square image in pixels. Defaults to 96.

    Returns:
        tuple[np.ndarray, np.ndarray]: RGB image of shape (S, S, 3), uint8, and mask of
        shape (S, S), uint8, with 0 background, 1..5 the classes of :data:`TOY_CLASSES`
        and 255 on a one-pixel band along object boundaries.
    """
    scale = _SUPERSAMPLE
    objects, inst = _place_objects(rng, img_size)
    img = _render_background(rng, img_size * scale)

    for obj in objects:
        win = _window(obj.extent, obj.body.cx, obj.body.cy, img_size)
        u, v = obj.body.to_local(*_coords(win, scale))
        inside, part = obj.regions(u, v)
        colour = _PAINTERS[obj.class_id](obj, u, v, part)
        colour = colour * obj.gain + np.asarray(obj.shift)
        region = img[_scaled(win, scale)]
        region[inside] = colour[inside]

    # Antialias, then light the scene unevenly and add sensor noise.
    img = img.reshape(img_size, scale, img_size, scale, 3).mean((1, 3))
    img *= 1 + 0.12 * _smooth_noise(rng, img_size, img_size, 2, 1)
    img += rng.normal(0, 0.015, img.shape)
    img = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)

    class_of = np.array([0] + [o.class_id for o in objects], dtype=np.uint8)
    mask = class_of[inst]
    # One-pixel boundary band on the side of the upper instance (background is lowest).
    band = np.zeros_like(mask, dtype=bool)
    band[:, :-1] |= inst[:, :-1] > inst[:, 1:]
    band[:, 1:] |= inst[:, 1:] > inst[:, :-1]
    band[:-1, :] |= inst[:-1, :] > inst[1:, :]
    band[1:, :] |= inst[1:, :] > inst[:-1, :]
    mask[band] = 255
    return img, mask


# ------------------------------------------------------------------------------------------
# The dataset on disk
# ------------------------------------------------------------------------------------------
def _sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLITS.index(split), index])


def _overlay(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Image blended with the class colours of its mask; ignore pixels in white."""
    colour = colour_mask(mask, TOY_PALETTE).astype(np.float64)
    alpha = np.where(mask == 0, 0.0, 0.6)[..., None]
    out = img * (1 - alpha) * np.where(mask == 0, 0.55, 1.0)[..., None] + colour * alpha
    return out.astype(np.uint8)


def save_preview(samples: Sequence[Tuple[np.ndarray, np.ndarray]], path: str,
                 columns: int = 2, zoom: int = 2) -> None:
    """Save a grid of ``image | mask overlay`` pairs with a class legend.

    Args:
        samples (Sequence[tuple]): (image (H, W, 3) uint8, mask (H, W) uint8) pairs.
        path (str): Output PNG.
        columns (int): Pairs per row. Defaults to 2.
        zoom (int): Nearest-neighbour upscaling factor. Defaults to 2.
    """
    gap = 4
    h, w = samples[0][1].shape
    th, tw = h * zoom, w * zoom
    rows = -(-len(samples) // columns)
    legend_h = 18
    canvas = np.full((rows * (th + gap) + gap + legend_h, columns * (2 * tw + 3 * gap) + gap, 3),
                     255, dtype=np.uint8)
    for i, (img, mask) in enumerate(samples):
        r, c = divmod(i, columns)
        y = gap + r * (th + gap)
        x = gap + c * (2 * tw + 3 * gap)
        for j, tile in enumerate((img, _overlay(img, mask))):
            tile = tile.repeat(zoom, 0).repeat(zoom, 1)
            canvas[y:y + th, x + j * (tw + gap):x + j * (tw + gap) + tw] = tile
    pil = Image.fromarray(canvas)
    draw = ImageDraw.Draw(pil)
    x, y = gap, canvas.shape[0] - legend_h + 3
    for name, rgb in zip(TOY_CLASSES[1:], TOY_PALETTE[1:]):
        draw.rectangle([x, y, x + 10, y + 10], fill=tuple(rgb))
        draw.text((x + 14, y), name, fill=(0, 0, 0))
        x += 14 + 7 * len(name) + 10
    pil.save(path)


def _params(num_train: int, num_val: int, img_size: int, seed: int) -> Dict[str, int]:
    return dict(num_train=num_train, num_val=num_val, img_size=img_size, seed=seed,
                version=GENERATOR_VERSION)


def read_complete_marker(root: str) -> Optional[dict]:
    """The summary stored by a finished :func:`make_toy_dataset` run, or None."""
    path = osp.join(root, COMPLETE_MARKER)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_tree(tmp: str, num_train: int, num_val: int, img_size: int,
                seed: int) -> Dict[str, object]:
    img_dir = osp.join(tmp, 'JPEGImages')
    seg_dir = osp.join(tmp, 'SegmentationClassAug')
    list_dir = osp.join(tmp, 'ImageSets', 'Segmentation')
    for d in (img_dir, seg_dir, list_dir):
        os.makedirs(d)

    num_fg = len(TOY_CLASSES) - 1
    stats: Dict[str, object] = {}
    preview: List[Tuple[np.ndarray, np.ndarray]] = []
    for split, num in (('train', num_train), ('val', num_val)):
        ids = [f'toy_{split}_{i:06d}' for i in range(num)]
        image_counts = np.zeros(num_fg, dtype=np.int64)
        pixel_counts = np.zeros(256, dtype=np.int64)
        multi = 0
        for i, img_id in enumerate(ids):
            img, mask = render_toy_sample(_sample_rng(seed, split, i), img_size)
            Image.fromarray(img).save(
                osp.join(img_dir, img_id + '.jpg'), quality=_JPEG_QUALITY)
            Image.fromarray(mask, mode='L').save(osp.join(seg_dir, img_id + '.png'))
            counts = np.bincount(mask.ravel(), minlength=256)
            pixel_counts += counts
            present = counts[1:len(TOY_CLASSES)] > 0
            image_counts += present
            multi += int(present.sum() >= 2)
            if split == 'val' and len(preview) < 8:
                preview.append((img, mask))
        text = ''.join(f'{img_id}\n' for img_id in ids)
        lists = ['train.txt', 'train_aug.txt'] if split == 'train' else ['val.txt']
        for name in lists:
            with open(osp.join(list_dir, name), 'w', encoding='utf-8') as f:
                f.write(text)
        total = max(int(pixel_counts.sum()), 1)
        stats[split] = dict(
            images=num,
            images_per_class=dict(zip(TOY_CLASSES[1:], image_counts.tolist())),
            multi_class_images=multi,
            pixel_fraction=dict(
                zip(TOY_CLASSES, (pixel_counts[:len(TOY_CLASSES)] / total).round(4).tolist()),
                ignore=round(float(pixel_counts[255] / total), 4)))
    if not preview and num_train:
        preview = [render_toy_sample(_sample_rng(seed, 'train', i), img_size)
                   for i in range(min(8, num_train))]
    if preview:
        save_preview(preview, osp.join(tmp, 'preview.png'))
    return stats


def make_toy_dataset(root: str,
                     num_train: int = 600,
                     num_val: int = 100,
                     img_size: int = 96,
                     seed: int = 0,
                     force: bool = False) -> Dict[str, object]:
    """Generate the toy dataset under ``root`` in the PASCAL VOC layout.

    Writes ``JPEGImages/*.jpg``, ``SegmentationClassAug/*.png`` (uint8 class ids),
    ``ImageSets/Segmentation/{train_aug,train,val}.txt`` (``train_aug`` equals ``train``),
    ``preview.png`` and a ``.complete`` marker holding the parameters and statistics.

    The tree is written to a temporary sibling directory and renamed into place when
    finished, so an interrupted run never leaves a partial dataset at ``root``. If ``root``
    already holds a complete dataset with the same parameters it is kept as is.

    Args:
        root (str): Output directory.
        num_train (int): Training images. Defaults to 600.
        num_val (int): Validation images. Defaults to 100.
        img_size (int): Side of the square images in pixels. Defaults to 96.
        seed (int): Seed of the whole dataset. Defaults to 0.
        force (bool): Regenerate even if a complete dataset exists, and replace a
            non-empty directory that is not a toy dataset. Defaults to False.

    Returns:
        dict: Summary with ``root``, the parameters, ``classes``, per-split statistics
        (``train``/``val``: images, images_per_class, multi_class_images, pixel_fraction),
        ``seconds`` and ``skipped`` (True when an existing dataset was reused).

    Raises:
        FileExistsError: If ``root`` is a non-empty directory without a complete marker
            and ``force`` is False.
    """
    if num_train < 0 or num_val < 0 or num_train + num_val == 0:
        raise ValueError(f'need a positive number of images, got num_train={num_train}, '
                         f'num_val={num_val}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if img_size < 32:
        raise ValueError(f'img_size must be >= 32, got {img_size}')
    root = osp.abspath(root)
    params = _params(num_train, num_val, img_size, seed)

    marker = read_complete_marker(root)
    if osp.exists(root) and not force:
        if marker is not None and marker.get('params') == params:
            print_log(f'Toy dataset at {root} is complete with the same parameters; '
                      'skipping (use force to regenerate)', 'current')
            return dict(marker['summary'], skipped=True, seconds=0.0)
        if marker is None and (not osp.isdir(root) or os.listdir(root)):
            raise FileExistsError(
                f'{root} exists and is not a toy dataset made by this generator (no '
                f'{COMPLETE_MARKER} marker); refusing to replace it without force')

    start = time.perf_counter()
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-', dir=parent)
    print_log(f'Generating toy dataset ({num_train} train + {num_val} val images, '
              f'{img_size}px, seed {seed}) into {root}', 'current')
    try:
        stats = _write_tree(tmp, num_train, num_val, img_size, seed)
        summary = dict(root=root, **params, classes=list(TOY_CLASSES), **stats)
        with open(osp.join(tmp, COMPLETE_MARKER), 'w', encoding='utf-8') as f:
            json.dump(dict(params=params, summary=summary), f, indent=2)
        _swap_into_place(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    print_log(f'Toy dataset written to {root} in {seconds:.1f}s', 'current')
    return dict(summary, skipped=False, seconds=seconds)


def _swap_into_place(tmp: str, root: str) -> None:
    """Rename a finished tree to ``root``, replacing what was there."""
    if not osp.lexists(root):
        os.rename(tmp, root)
        return
    old = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.old-', dir=osp.dirname(root))
    os.rmdir(old)  # only the unique name is wanted
    os.rename(root, old)
    try:
        os.rename(tmp, root)
    except BaseException:
        os.rename(old, root)
        raise
    if osp.isdir(old) and not osp.islink(old):
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.unlink(old)
