# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Class appearance of the toy objects: class colours, body textures and distinctive parts.

Each painter maps an object's local coordinates to RGB floats of shape (h, w, 3).
"""
from types import MappingProxyType
from typing import Callable, Tuple

import numpy as np

from .shapes import _ToyObject

# Colours of the class appearances, 8-bit RGB.
_COLOURS = MappingProxyType(
    dict(
        red=(205, 25, 30), black=(18, 16, 14), white=(242, 240, 232), orange=(245, 135, 15),
        blue=(30, 70, 215), yellow=(245, 215, 30), green=(35, 150, 45),
        light_green=(170, 230, 110), brown=(110, 65, 25), magenta=(200, 30, 190)))


def _rgb(name: str) -> np.ndarray:
    """A named colour as floats in [0, 1], shape (3,)."""
    return np.asarray(_COLOURS[name], dtype=np.float64) / 255.0


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
