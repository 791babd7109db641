"""Confusion matrices of class activation maps for a sweep of background thresholds.

A CAM over ``C`` foreground classes is turned into a segmentation with a
background threshold ``t``: a pixel gets ``1 + argmax_c cams[c]`` when
``max_c cams[c] > t`` and background (0) otherwise. Only the background /
foreground decision depends on ``t``, the foreground label does not, so a
single pass over the pixels is enough for every threshold:

1. per pixel, the foreground score ``s`` and label ``l`` are computed once;
2. ``k = #{i : t_i < s}`` (a ``searchsorted`` in the ascending thresholds)
   says that the pixel is foreground for the threshold indices ``i < k`` and
   background for ``i >= k``;
3. one histogram over ``(k, gt, l)`` is built with ``np.bincount``; cumulative
   sums over its ``k`` axis give the confusion matrix of every threshold.

The cost is one ``argmax`` over the classes plus ``O(H * W)`` (the rank of an even
grid is computed and checked, that of float16 maps looked up in one table; other sweeps
fall back to a binary search), and the memory is ``O(H * W + T * V * (C + 1))`` for V
mask values: no ``T x H x W`` array is built.

Every confusion matrix here is indexed ``[..., gt, pred]`` (rows are the
ground truth, columns the prediction) over ``C + 1`` classes, background
first.
"""
import functools
import warnings
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence[float], Any]


def _to_numpy(x: ArrayLike) -> np.ndarray:
    """Convert a numpy array, a torch tensor or a sequence to a numpy array.

    Torch is not imported here: tensors are recognised by their ``detach``
    method, and low-precision floats (bfloat16 has no numpy dtype) are
    widened to float32 first.
    """
    if hasattr(x, 'detach'):
        x = x.detach()
        if x.is_floating_point() and x.element_size() < 4:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def check_thresholds(thresholds: ArrayLike) -> np.ndarray:
    """Validate a threshold sweep.

    Args:
        thresholds (array-like): Shape (T,), T >= 1, finite and non-decreasing.

    Returns:
        np.ndarray: The thresholds as float64, shape (T,).
    """
    t = np.asarray(_to_numpy(thresholds), dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f'thresholds must be a non-empty 1-D sequence, got shape {t.shape}')
    if not np.all(np.isfinite(t)):
        raise ValueError(f'thresholds must be finite, got {t.tolist()}')
    if np.any(np.diff(t) < 0):
        raise ValueError(f'thresholds must be in ascending order, got {t.tolist()}')
    return t


def threshold_histogram(cams: ArrayLike,
                        gt: ArrayLike,
                        thresholds: ArrayLike,
                        ignore_index: int = 255) -> np.ndarray:
    """Histogram of pixels over (threshold rank, gt label, foreground label).

    This is the compact per-image statistic from which
    :func:`confusion_from_histogram` derives the confusion matrix of every
    threshold. Histograms of several images can simply be added.

    The background decision is ``score > threshold`` (strictly greater means
    foreground), evaluated in the floating dtype of ``cams`` (float64 for
    integer inputs): a float32 score of ``0.3`` equals a threshold of ``0.3``
    and is background.

    Args:
        cams (np.ndarray | torch.Tensor): Foreground class maps, shape
            (C, H, W), usually in [0, 1]. Classes absent from the image should
            be all zero. Must be finite.
        gt (np.ndarray | torch.Tensor): Ground-truth mask, shape (H, W), with
            0 for background, 1..C for the classes and ``ignore_index`` for
            pixels that are not evaluated.
        thresholds (array-like): Background thresholds, shape (T,), ascending.
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        np.ndarray: int64 array of shape (T + 1, C + 1, C + 1). Entry
        ``[k, g, l]`` counts the valid pixels with gt label ``g`` and
        foreground label ``l`` (1..C; column 0 is empty unless C = 0) whose
        score exceeds exactly the ``k`` smallest thresholds.
    """
    cams = _to_numpy(cams)
    gt = _to_numpy(gt)
    t = check_thresholds(thresholds)
    if cams.ndim != 3:
        raise ValueError(f'cams must have shape (C, H, W), got {cams.shape}')
    if gt.shape != cams.shape[1:]:
        raise ValueError(f'gt of shape {gt.shape} does not match cams of shape {cams.shape}')
    num_fg = cams.shape[0]
    num_classes = num_fg + 1
    flat = cams.reshape(num_fg, gt.size)
    if num_fg and not np.issubdtype(flat.dtype, np.floating):
        flat = flat.astype(np.float64)
    values, counts = value_histogram(list(flat), gt, t)
    check_mask_values(values, num_fg, ignore_index)
    keep = values != ignore_index
    hist = np.zeros((t.size + 1, num_classes, num_classes), dtype=np.int64)
    hist[:, values[keep]] = counts[:, keep]
    return hist


def check_mask_values(values: np.ndarray, num_fg: int, ignore_index: int,
                      source: str = 'gt') -> None:
    """Raises ValueError naming the mask values outside [0, num_fg] and not ignored."""
    bad = values[((values < 0) | (values > num_fg)) & (values != ignore_index)]
    if bad.size:
        raise ValueError(f'{source}: mask values {bad.tolist()} are outside [0, {num_fg}] and are '
                         f'not the ignore index {ignore_index}')


def value_histogram(maps: Sequence[np.ndarray], gt: np.ndarray,
                    thresholds: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Histogram over (threshold rank, mask value, map column + 1) of all pixels.

    The shared core of :func:`threshold_histogram` and of evaluators that keep only the
    classes an image uses. Everything per pixel is one ``int64`` index
    ``(value * (T + 1) + rank) * (K + 1) + 1 + arg-max``, counted by one ``bincount``.
    The mask values found are part of the result, so that the caller checks them and
    drops the ignored ones after counting: a uint8 mask is neither searched for its
    values nor compressed by a mask of valid pixels, and pixels of one value (mostly
    background) count into one contiguous block.

    Args:
        maps (Sequence[np.ndarray]): K (N,) maps of one floating dtype, in the order in
            which ties are broken (the first maximum wins); column ``j + 1`` is map ``j``.
        gt (np.ndarray): Integer mask of N pixels, any shape.
        thresholds (np.ndarray): (T,) float64 ascending.

    Returns:
        tuple[np.ndarray, np.ndarray]: The V distinct mask values, ascending, and the
        int64 (T + 1, V, K + 1) counts; column 0 is empty unless K = 0.
    """
    g = gt.reshape(-1)
    if not np.issubdtype(g.dtype, np.integer):
        g = g.astype(np.int64)
    num_columns = len(maps) + 1
    block = (thresholds.size + 1) * num_columns  # the bins of one mask value
    if maps:
        index = _pixel_index(maps, thresholds, num_columns)
    else:  # every pixel is background at any threshold: rank 0, column 0
        index = np.zeros(g.size, dtype=np.int64)
    if g.dtype == np.uint8:
        index += np.multiply(g, block, dtype=np.int64)
        counts = np.bincount(index, minlength=256 * block).reshape(256, -1)
        values = np.flatnonzero(counts.any(axis=1))
        counts = counts[values]
    else:
        values = np.unique(g)
        lo, hi = (int(values[0]), int(values[-1])) if values.size else (0, 0)
        if hi - lo < 1 << 20:
            rows = np.zeros(hi - lo + 1, dtype=np.int64)
            rows[values - lo] = np.arange(values.size) * block
            index += np.take(rows, g - lo if lo else g)
        else:  # sparse values: search instead of a table over their range
            index += np.searchsorted(values, g) * block
        counts = np.bincount(index, minlength=values.size * block)
    counts = counts.reshape(values.size, thresholds.size + 1, num_columns)
    return values, counts.transpose(1, 0, 2)


def _pixel_index(maps: Sequence[np.ndarray], thresholds: np.ndarray, stride: int) -> np.ndarray:
    """``rank * stride + 1 + arg-max`` per pixel, with ``rank = #{i : t_i < max}``.

    Args:
        maps (Sequence[np.ndarray]): K >= 1 (N,) maps of one floating dtype.
        thresholds (np.ndarray): (T,) float64 ascending.
        stride (int): Histogram bins per threshold rank.

    Returns:
        np.ndarray: int64 (N,), a new array.
    """
    dtype = maps[0].dtype
    t_cast = thresholds.astype(dtype)
    if dtype == np.float16:
        # numpy computes on float16 in software; integer keys ordered as the values
        # are compared instead, exactly and vectorised.
        bits = [m.view(np.uint16) for m in maps]
        t_bits = t_cast.view(np.uint16)
        top = [int(b.max(initial=0)) for b in bits]
        signed = max(top) > 0x8000 or bool((t_bits > 0x8000).any())
        keys = [_half_keys(b, signed, has_sign_bit=m >= 0x8000) for b, m in zip(bits, top)]
        score, best = _max_and_argmax(keys)
        table = _half_rank_table(t_bits.tobytes(), signed) * stride
        table += 1
        index = np.take(table, score)
    else:
        score, best = _max_and_argmax(maps)
        index = _count_below(t_cast, score)
        index *= stride
        index += 1
    if best is not None:
        index += best
    return index


def _count_below(thresholds: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``#{i : thresholds[i] < score}`` per pixel: ``searchsorted(..., side='left')``.

    A binary search per pixel mispredicts a branch at almost every step on real maps;
    thresholds are usually an even grid, so the count is guessed by arithmetic and then
    checked (and corrected) against the thresholds themselves, which keeps it exact.
    Pixels still wrong after two corrections (an uneven sweep) are searched.

    Args:
        thresholds (np.ndarray): (T,) ascending, in the dtype of ``score``.
        score (np.ndarray): (N,) values.

    Returns:
        np.ndarray: int64 (N,) counts in [0, T].
    """
    num_t = thresholds.size
    lo, hi = float(thresholds[0]), float(thresholds[-1])
    if num_t < 2 or not hi > lo:
        return np.searchsorted(thresholds, score, side='left')
    step = (hi - lo) / (num_t - 1)
    guess = np.ceil((score.astype(np.float64) - lo) / step)
    rank = np.clip(guess, 0, num_t).astype(np.int64)
    # below[k] = thresholds[k - 1] and above[k] = thresholds[k], open at the ends.
    below = np.concatenate([[-np.inf], thresholds]).astype(score.dtype)
    above = np.concatenate([thresholds, [np.inf]]).astype(score.dtype)
    for _ in range(2):
        too_many = below[rank] >= score
        too_few = above[rank] < score
        if not (too_many.any() or too_few.any()):
            return rank
        rank -= too_many
        rank += too_few
    wrong = (below[rank] >= score) | (above[rank] < score)
    rank[wrong] = np.searchsorted(thresholds, score[wrong], side='left')
    return rank


def _half_keys(bits: np.ndarray, signed: bool, has_sign_bit: bool) -> np.ndarray:
    """uint16 keys ordered as the float16 values with these bits are (finite values).

    Comparing integer keys is vectorised and exact. Without negative values the bits
    are ordered already (-0 is folded onto +0); with them, the sign-magnitude bits are
    folded into one increasing order.

    Args:
        bits (np.ndarray): uint16 view of float16 values.
        signed (bool): Whether any value (of everything compared) is below -0.
        has_sign_bit (bool): Whether any of ``bits`` has its sign bit set (e.g. -0).
    """
    if not signed:
        return bits & 0x7FFF if has_sign_bit else bits
    return np.where(bits > 0x8000, 0x7FFF - (bits & 0x7FFF), bits | 0x8000).astype(np.uint16)


@functools.lru_cache(maxsize=16)
def _half_rank_table(threshold_bits: bytes, signed: bool) -> np.ndarray:
    """``#{i : t_key[i] < key}`` for all 65536 float16 keys (:func:`_half_keys`).

    Cached: an evaluation sweeps the same thresholds over every image. The table is
    read-only; callers scale a copy.

    Args:
        threshold_bits (bytes): The uint16 bits of the (T,) ascending float16 thresholds.
        signed (bool): As for :func:`_half_keys`.

    Returns:
        np.ndarray: int64 (65536,) ranks.
    """
    t_bits = np.frombuffer(threshold_bits, dtype=np.uint16)
    keys = _half_keys(t_bits, signed, has_sign_bit=bool((t_bits >= 0x8000).any()))
    counts = np.bincount(keys.astype(np.int64), minlength=1 << 16)
    table = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    table.setflags(write=False)
    return table


def _max_and_argmax(maps: Sequence[np.ndarray]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Per-pixel maximum over the maps and the first map that attains it.

    ``argmax(axis=0)`` walks a C-contiguous (K, N) array across its rows for every
    column, which is several times slower than K passes along the rows; with the few
    maps of one image the passes win. Ties keep the first map, as ``argmax``. Maps are
    finite (documented), so NaN handling does not arise.

    Args:
        maps (Sequence[np.ndarray]): K >= 1 (N,) maps (floating, or order keys), or a
            (K, N) array.

    Returns:
        tuple[np.ndarray, np.ndarray | None]: The maximum (N,) in the maps' dtype and
        the index of the map (N,), uint8 for up to 255 maps, int64 beyond; None when
        K = 1 (every pixel's index is 0).
    """
    if len(maps) == 1:
        return maps[0], None
    if len(maps) > 8:  # many maps: argmax's single pass is as good
        flat = np.stack(list(maps))
        best = flat.argmax(axis=0)
        return np.take_along_axis(flat, best[None], axis=0)[0], best
    score = maps[0].copy()
    best = np.zeros(score.shape, dtype=np.uint8)
    for k in range(1, len(maps)):
        higher = np.greater(maps[k], score)
        np.copyto(best, k, where=higher)
        np.maximum(score, maps[k], out=score)
    return score, best


def confusion_from_histogram(hist: np.ndarray) -> np.ndarray:
    """Confusion matrices of every threshold from a :func:`threshold_histogram`.

    For threshold index ``i`` a pixel of rank ``k`` is foreground when
    ``k > i`` and background when ``k <= i``, so the foreground columns are
    suffix sums over ``k`` and the background column a prefix sum.

    Args:
        hist (np.ndarray): Shape (T + 1, K, K), K = C + 1.

    Returns:
        np.ndarray: int64 confusion matrices, shape (T, K, K), indexed
        ``[threshold, gt, pred]``.
    """
    hist = np.asarray(hist, dtype=np.int64)
    if hist.ndim != 3 or hist.shape[0] < 2 or hist.shape[1] != hist.shape[2]:
        raise ValueError(f'hist must have shape (T + 1, K, K) with T >= 1, got {hist.shape}')
    # suffix[i] = sum_{k >= i} hist[k]; foreground at threshold i needs k >= i + 1.
    suffix = np.cumsum(hist[::-1], axis=0)[::-1]
    conf = suffix[1:].copy()
    # prefix[i] = sum_{k <= i} hist[k] summed over the foreground labels.
    conf[..., 0] = np.cumsum(hist.sum(axis=-1), axis=0)[:-1]
    return conf


def sweep_confusion(cams: ArrayLike,
                    gt: ArrayLike,
                    thresholds: ArrayLike,
                    ignore_index: int = 255) -> np.ndarray:
    """Confusion matrices of one CAM for all background thresholds at once.

    Args:
        cams (np.ndarray | torch.Tensor): Foreground class maps, shape
            (C, H, W). See :func:`threshold_histogram`.
        gt (np.ndarray | torch.Tensor): Ground-truth mask, shape (H, W).
        thresholds (array-like): Background thresholds, shape (T,), ascending.
            A pixel is foreground when its best score is strictly greater.
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        np.ndarray: int64 array of shape (T, C + 1, C + 1), indexed
        ``[threshold, gt, pred]``.
    """
    return confusion_from_histogram(threshold_histogram(cams, gt, thresholds, ignore_index))


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with nan wherever ``den`` is zero, without warnings."""
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _diag(conf: np.ndarray) -> np.ndarray:
    return np.diagonal(conf, axis1=-2, axis2=-1)


def iou_from_confusion(conf: ArrayLike) -> np.ndarray:
    """Per-class intersection over union.

    Args:
        conf (array-like): Confusion matrices, shape (..., K, K), indexed
            ``[..., gt, pred]``.

    Returns:
        np.ndarray: float64, shape (..., K). nan for classes with neither
        ground truth nor prediction.
    """
    conf = np.asarray(conf)
    tp = _diag(conf)
    union = conf.sum(axis=-1) + conf.sum(axis=-2) - tp
    return _safe_ratio(tp, union)


def precision_from_confusion(conf: ArrayLike) -> np.ndarray:
    """Per-class precision (true positives over predicted pixels).

    Args:
        conf (array-like): Confusion matrices, shape (..., K, K), indexed
            ``[..., gt, pred]``.

    Returns:
        np.ndarray: float64, shape (..., K). nan for classes never predicted.
    """
    conf = np.asarray(conf)
    return _safe_ratio(_diag(conf), conf.sum(axis=-2))


def recall_from_confusion(conf: ArrayLike) -> np.ndarray:
    """Per-class recall (true positives over ground-truth pixels).

    Args:
        conf (array-like): Confusion matrices, shape (..., K, K), indexed
            ``[..., gt, pred]``.

    Returns:
        np.ndarray: float64, shape (..., K). nan for classes absent from the
        ground truth.
    """
    conf = np.asarray(conf)
    return _safe_ratio(_diag(conf), conf.sum(axis=-1))


def nanmean_last(x: ArrayLike) -> np.ndarray:
    """Mean over the last axis ignoring nan; nan (and no warning) if all are nan.

    Args:
        x (array-like): Shape (..., K).

    Returns:
        np.ndarray: Shape (...).
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', category=RuntimeWarning)
        return np.nanmean(np.asarray(x, dtype=np.float64), axis=-1)


def miou_from_confusion(conf: ArrayLike) -> np.ndarray:
    """Mean IoU over the classes that occur in the ground truth or the prediction.

    Args:
        conf (array-like): Confusion matrices, shape (..., K, K).

    Returns:
        np.ndarray: float64 in [0, 1], shape (...).
    """
    return nanmean_last(iou_from_confusion(conf))
