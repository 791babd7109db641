# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Shapes of the toy objects and distractors, and the pixel windows they are drawn in.

Coordinates are in image pixels; every shape maps image coordinates to its own local frame
(``u`` along the major axis, ``v`` across it).
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np


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
