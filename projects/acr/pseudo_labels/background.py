"""Background scores for class maps, and label maps from the resulting score stacks.

Class maps say how strongly each present class fires at a pixel but carry no background
channel. Two rules supply one:

* **threshold**: a constant background score ``t``; a pixel is foreground where some class
  map exceeds ``t``. This is the rule of the CAM evaluation sweep (:class:`CAMMetric`) and of
  the single-stage methods AFA (background 0.45, confident/uncertain band 0.35-0.55) and
  ToCo (bands 0.25 / 0.7).
* **power**: ``bg = (1 - max_c cam_c) ** alpha``, from AffinityNet (PSA). A small ``alpha``
  gives a large background score, so only strong activations stay foreground; a large
  ``alpha`` shrinks the background score and lets weak activations become foreground.
  PSA used alpha 4 / 32 with ResNet-38 CAMs; the ViT pipelines that ACR builds on (the
  official ACR scripts and MCTformer, whose CRF step ACR's PSA stage reuses) use 1 / 12,
  which are the defaults here (see :mod:`.pseudo_label_generator`).

A score stack is (K + 1, H, W) with background first and then the K present classes in the
order of ``class_ids``; its argmax (ties go to the lower index, i.e. to background) maps to
mask values 0 (background) and ``class_id + 1``.
"""
from typing import Optional, Sequence, Union

import numpy as np

BG_MODES = ('threshold', 'power')


def _check_cams(cams: np.ndarray) -> np.ndarray:
    cams = np.asarray(cams, dtype=np.float32)
    if cams.ndim != 3:
        raise ValueError(f'class maps must have shape (K, H, W), got {cams.shape}')
    return cams


def max_class_score(cams: np.ndarray) -> np.ndarray:
    """Per-pixel maximum over the class maps, 0 where there are no maps.

    Args:
        cams (np.ndarray): (K, H, W) class maps; K may be 0.

    Returns:
        np.ndarray: float32 (H, W).
    """
    cams = _check_cams(cams)
    if cams.shape[0] == 0:
        return np.zeros(cams.shape[1:], dtype=np.float32)
    return cams.max(axis=0)


def threshold_background(cams: np.ndarray, bg_thr: float) -> np.ndarray:
    """Constant background score ``bg_thr``.

    Args:
        cams (np.ndarray): (K, H, W) class maps (only their size is used).
        bg_thr (float): Background score, usually in [0, 1].

    Returns:
        np.ndarray: float32 (H, W) filled with ``bg_thr``.
    """
    cams = _check_cams(cams)
    return np.full(cams.shape[1:], bg_thr, dtype=np.float32)


def power_background(cams: np.ndarray, alpha: float) -> np.ndarray:
    """Background score ``(1 - max_c cam_c) ** alpha``.

    Args:
        cams (np.ndarray): (K, H, W) class maps in [0, 1]; values outside are clipped so
            that the score stays in [0, 1].
        alpha (float): Exponent, > 0. Larger values give smaller background scores.

    Returns:
        np.ndarray: float32 (H, W) in [0, 1]; 1 everywhere when K is 0.
    """
    if not alpha > 0:
        raise ValueError(f'alpha must be > 0, got {alpha}')
    peak = np.clip(max_class_score(cams), 0.0, 1.0)
    return np.power(1.0 - peak, alpha, dtype=np.float32)


def background_score(cams: np.ndarray,
                     mode: str = 'power',
                     bg_thr: Optional[float] = None,
                     alpha: Optional[float] = None) -> np.ndarray:
    """Background score of one image by either rule.

    Args:
        cams (np.ndarray): (K, H, W) class maps in [0, 1].
        mode (str): ``'threshold'`` (needs ``bg_thr``) or ``'power'`` (needs ``alpha``).
        bg_thr (float, optional): Constant score of the threshold rule.
        alpha (float, optional): Exponent of the power rule.

    Returns:
        np.ndarray: float32 (H, W).
    """
    if mode == 'threshold':
        if bg_thr is None:
            raise ValueError('background mode "threshold" needs bg_thr')
        return threshold_background(cams, bg_thr)
    if mode == 'power':
        if alpha is None:
            raise ValueError('background mode "power" needs alpha')
        return power_background(cams, alpha)
    raise ValueError(f'unknown background mode {mode!r}, expected one of {BG_MODES}')


def score_stack(cams: np.ndarray, bg: Union[np.ndarray, float]) -> np.ndarray:
    """Puts the background score in front of the class maps.

    Args:
        cams (np.ndarray): (K, H, W) class maps.
        bg (np.ndarray | float): (H, W) background score, or a constant.

    Returns:
        np.ndarray: float32 (K + 1, H, W), background first.
    """
    cams = _check_cams(cams)
    bg = np.broadcast_to(np.asarray(bg, dtype=np.float32), cams.shape[1:])
    return np.concatenate([bg[None], cams], axis=0)


def background_stack(cams: np.ndarray,
                     mode: str = 'power',
                     bg_thr: Optional[float] = None,
                     alpha: Optional[float] = None) -> np.ndarray:
    """:func:`background_score` and :func:`score_stack` in one call.

    Returns:
        np.ndarray: float32 (K + 1, H, W), background first.
    """
    return score_stack(cams, background_score(cams, mode, bg_thr=bg_thr, alpha=alpha))


def check_class_ids(class_ids: Sequence[int], num_maps: int,
                    ignore_index: int = 255) -> np.ndarray:
    """Validates the foreground indices of a stack's maps.

    Args:
        class_ids (Sequence[int]): (K,) foreground class indices counted from 0.
        num_maps (int): K, the number of class maps they describe.
        ignore_index (int): Mask value reserved for ignored pixels; ``class_id + 1`` must
            stay below it and fit in uint8.

    Returns:
        np.ndarray: int64 (K,).
    """
    class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if class_ids.shape[0] != num_maps:
        raise ValueError(f'{class_ids.shape[0]} class ids for {num_maps} class maps')
    limit = min(int(ignore_index), 256) - 1
    if class_ids.size and (class_ids.min() < 0 or class_ids.max() >= limit):
        raise ValueError(f'class ids must be in 0..{limit - 1} so that mask values (id + 1) '
                         f'stay below the ignore index {ignore_index} and fit in uint8, got '
                         f'{class_ids.tolist()}')
    if np.unique(class_ids).size != class_ids.size:
        raise ValueError(f'class ids must be distinct, got {class_ids.tolist()}')
    return class_ids


def index_to_label(index: np.ndarray, class_ids: Sequence[int]) -> np.ndarray:
    """Maps stack indices (0 = background, i = i-th class map) to mask values.

    Args:
        index (np.ndarray): (H, W) integer indices into a (K + 1, H, W) stack.
        class_ids (Sequence[int]): (K,) foreground class indices.

    Returns:
        np.ndarray: uint8 (H, W) with values 0 and ``class_ids + 1``.
    """
    class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    lut = np.concatenate([[0], class_ids + 1]).astype(np.uint8)
    return lut[index]


def labels_from_stack(stack: np.ndarray, class_ids: Sequence[int],
                      ignore_index: int = 255) -> np.ndarray:
    """Label map of a score stack: the argmax, background winning ties.

    Args:
        stack (np.ndarray): (K + 1, H, W) scores, background first.
        class_ids (Sequence[int]): (K,) foreground class indices of maps 1..K.
        ignore_index (int): Reserved mask value (checked against the class ids).

    Returns:
        np.ndarray: uint8 (H, W) with values 0 and ``class_ids + 1``.
    """
    stack = np.asarray(stack)
    if stack.ndim != 3 or stack.shape[0] < 1:
        raise ValueError(f'score stack must have shape (K + 1, H, W), got {stack.shape}')
    class_ids = check_class_ids(class_ids, stack.shape[0] - 1, ignore_index)
    return index_to_label(stack.argmax(axis=0), class_ids)
