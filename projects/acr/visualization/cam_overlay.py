"""Pictures of class maps over their image: arg-max colours or per-class heat maps."""
from typing import Optional, Sequence

import cv2
import numpy as np

from ..utils.atomic_io import atomic_write_bytes

OVERLAY_MODES = ('argmax', 'heatmap')


def _check_inputs(image: np.ndarray, cams: np.ndarray, class_ids: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'image must be uint8 (H, W, 3), got {image.dtype} {image.shape}')
    if cams.ndim != 3 or cams.shape[0] != len(class_ids) or cams.shape[1:] != image.shape[:2]:
        raise ValueError(f'cams must be (K, H, W) with K = {len(class_ids)} class ids and the '
                         f'image size {image.shape[:2]}, got {cams.shape}')


def argmax_overlay(image: np.ndarray,
                   cams: np.ndarray,
                   class_ids: Sequence[int],
                   palette: Sequence[Sequence[int]],
                   alpha: float = 0.6,
                   bg_threshold: Optional[float] = None) -> np.ndarray:
    """Colours each pixel with the palette colour of its strongest class.

    Args:
        image (np.ndarray): uint8 (H, W, 3) RGB image.
        cams (np.ndarray): (K, H, W) maps in [0, 1] of the classes ``class_ids``.
        class_ids (Sequence[int]): (K,) foreground indices from 0; class ``k`` is drawn in
            ``palette[k + 1]`` (entry 0 is the background).
        palette (Sequence[Sequence[int]]): (C + 1, 3) RGB colours.
        alpha (float): Opacity of the colour on the strongest pixels.
        bg_threshold (float, optional): With a threshold, pixels whose best score does not
            exceed it stay uncoloured and the others get opacity ``alpha``. Without one, the
            opacity is ``alpha`` times the best score, which shows the map's confidence.

    Returns:
        np.ndarray: uint8 (H, W, 3) RGB.
    """
    class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    cams = np.asarray(cams, dtype=np.float32)
    _check_inputs(image, cams, class_ids)
    if class_ids.size == 0:
        return image.copy()
    palette = np.asarray(palette, dtype=np.float32)
    if palette.ndim != 2 or palette.shape[1] != 3 or palette.shape[0] <= class_ids.max() + 1:
        raise ValueError(f'palette must be (C + 1, 3) covering class {class_ids.max() + 1}, '
                         f'got shape {palette.shape}')
    best = cams.argmax(axis=0)
    score = np.clip(np.take_along_axis(cams, best[None], axis=0)[0], 0, 1)
    if bg_threshold is None:
        opacity = alpha * score
    else:
        opacity = alpha * (score > bg_threshold).astype(np.float32)
    colour = palette[class_ids[best] + 1]  # (H, W, 3)
    out = image.astype(np.float32) * (1 - opacity[..., None]) + colour * opacity[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def heatmap_overlay(image: np.ndarray,
                    cams: np.ndarray,
                    class_ids: Sequence[int],
                    class_names: Optional[Sequence[str]] = None,
                    alpha: float = 0.5) -> np.ndarray:
    """The image followed by one heat map per class, side by side.

    Args:
        image (np.ndarray): uint8 (H, W, 3) RGB image.
        cams (np.ndarray): (K, H, W) maps in [0, 1] of the classes ``class_ids``.
        class_ids (Sequence[int]): (K,) foreground indices from 0.
        class_names (Sequence[str], optional): The C + 1 class names (background first),
            written on the tiles.
        alpha (float): Opacity of the heat colours.

    Returns:
        np.ndarray: uint8 (H, (K + 1) * W, 3) RGB.
    """
    class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    cams = np.asarray(cams, dtype=np.float32)
    _check_inputs(image, cams, class_ids)
    tiles = [image]
    for cam, cid in zip(cams, class_ids):
        gray = np.clip(np.rint(cam * 255), 0, 255).astype(np.uint8)
        heat = cv2.applyColorMap(gray, cv2.COLORMAP_JET)[..., ::-1]  # BGR -> RGB
        tile = cv2.addWeighted(image, 1 - alpha, np.ascontiguousarray(heat), alpha, 0)
        name = class_names[cid + 1] if class_names is not None else f'class {cid + 1}'
        _caption(tile, name)
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)


def _caption(tile: np.ndarray, text: str) -> None:
    """Writes ``text`` in the top-left corner, scaled to the tile, in place."""
    scale = max(0.3, tile.shape[0] / 400)
    thickness = max(1, int(round(scale * 2)))
    org = (3, int(14 * scale) + 3)
    # A dark outline keeps the text readable on any colour.
    cv2.putText(tile, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2,
                cv2.LINE_AA)
    cv2.putText(tile, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness,
                cv2.LINE_AA)


def render_cam_overlay(image: np.ndarray,
                       cams: np.ndarray,
                       class_ids: Sequence[int],
                       palette: Sequence[Sequence[int]],
                       class_names: Optional[Sequence[str]] = None,
                       mode: str = 'argmax') -> np.ndarray:
    """One overlay picture of an image's class maps.

    The maps are resized to the image when their sizes differ.

    Args:
        image (np.ndarray): uint8 (H, W, 3) RGB image.
        cams (np.ndarray): (K, h, w) maps in [0, 1] of the classes ``class_ids``.
        class_ids (Sequence[int]): (K,) foreground indices from 0.
        palette (Sequence[Sequence[int]]): (C + 1, 3) RGB colours (``argmax`` mode).
        class_names (Sequence[str], optional): C + 1 names (``heatmap`` mode captions).
        mode (str): ``'argmax'`` (:func:`argmax_overlay`) or ``'heatmap'``
            (:func:`heatmap_overlay`).

    Returns:
        np.ndarray: uint8 RGB picture.
    """
    if mode not in OVERLAY_MODES:
        raise ValueError(f'overlay mode must be one of {OVERLAY_MODES}, got {mode!r}')
    cams = np.asarray(cams, dtype=np.float32)
    h, w = image.shape[:2]
    if cams.ndim == 3 and cams.shape[0] and cams.shape[1:] != (h, w):
        cams = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in cams])
    elif cams.ndim == 3 and not cams.shape[0]:
        cams = np.zeros((0, h, w), dtype=np.float32)
    if mode == 'argmax':
        return argmax_overlay(image, cams, class_ids, palette)
    return heatmap_overlay(image, cams, class_ids, class_names)


def save_overlay(path: str, picture: np.ndarray) -> None:
    """Writes an RGB picture as a PNG atomically."""
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(picture[..., ::-1]))
    if not ok:
        raise RuntimeError(f'could not encode the overlay for {path}')
    atomic_write_bytes(path, buf.tobytes())
