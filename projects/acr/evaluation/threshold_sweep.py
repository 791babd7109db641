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

The cost is one ``argmax`` over the classes plus ``O(H * W * log T)``, and the
memory is ``O(H * W + T * (C + 1)^2)``: no ``T x H x W`` array is built.

Every confusion matrix here is indexed ``[..., gt, pred]`` (rows are the
ground truth, columns the prediction) over ``C + 1`` classes, background
first.
"""
import warnings
from typing import Any, Sequence, Tuple, Union

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
    num_t = t.size

    gt = gt.reshape(-1).astype(np.int64, copy=False)
    valid = gt != ignore_index
    # Negative labels wrap to huge ones as uint64: one comparison finds both kinds.
    outside = gt.view(np.uint64) > num_fg
    outside &= valid
    if outside.any():
        bad = np.unique(gt[outside])
        raise ValueError(f'gt labels {bad.tolist()} are outside [0, {num_fg}] and are not the '
                         f'ignore index {ignore_index}')

    num_bins = (num_t + 1) * num_classes * num_classes
    if num_fg == 0:
        # Without foreground classes every pixel is background at any threshold:
        # rank 0 puts it in the background column of every confusion matrix.
        index = gt * num_classes
    else:
        flat = cams.reshape(num_fg, -1)
        if not np.issubdtype(flat.dtype, np.floating):
            flat = flat.astype(np.float64)
        # Comparing in the score dtype keeps "equal to the threshold" exact for
        # values that the user wrote as the same literal.
        t_cast = t.astype(flat.dtype)
        if flat.dtype == np.float16:
            score_rank, best = _rank_and_argmax_half(flat, t_cast)
        else:
            score, best = _max_and_argmax(flat)
            score_rank = _count_below(t_cast, score)
        index = score_rank.astype(np.int64)  # a new array: updated in place below
        index *= num_classes
        index += gt
        index *= num_classes
        index += best
        index += 1
    # Ignored pixels go to one extra bin that is dropped, instead of compressing every
    # per-pixel array by the mask.
    np.putmask(index, ~valid, num_bins)
    hist = np.bincount(index, minlength=num_bins + 1)[:num_bins]
    return hist.astype(np.int64, copy=False).reshape(num_t + 1, num_classes, num_classes)


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


def _half_keys(bits: np.ndarray, signed: bool) -> np.ndarray:
    """uint16 keys ordered as the float16 values with these bits are (finite values).

    numpy computes on float16 in software; comparing integer keys instead is vectorised
    and exact. Without negative values the bits are ordered already (-0 is folded onto
    +0); with them, the sign-magnitude bits are folded into one increasing order.

    Args:
        bits (np.ndarray): uint16 view of float16 values.
        signed (bool): Whether any value (of everything compared) is below -0.
    """
    if not signed:
        return bits & 0x7FFF if bits.size and bits.max() >= 0x8000 else bits
    return np.where(bits > 0x8000, 0x7FFF - (bits & 0x7FFF), bits | 0x8000).astype(np.uint16)


def _rank_and_argmax_half(flat: np.ndarray,
                          thresholds: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Threshold rank of the per-pixel maximum and its first row, for float16 maps.

    Args:
        flat (np.ndarray): (K, N) float16 maps, K >= 1.
        thresholds (np.ndarray): (T,) ascending float16.

    Returns:
        tuple[np.ndarray, np.ndarray]: int64 (N,) ``#{i : thresholds[i] < max}`` and
        int64 (N,) the first row attaining the maximum.
    """
    bits = flat.view(np.uint16)
    t_bits = thresholds.view(np.uint16)
    signed = bool(bits.size and bits.max() > 0x8000) or bool((t_bits > 0x8000).any())
    keys = _half_keys(bits, signed)
    k = keys.shape[0]
    if k <= 256:
        # One vectorised max over (key, 255 - row) packed in 32 bits: the larger key
        # wins, and among equal keys the smaller row, as argmax's first maximum.
        packed = keys.astype(np.uint32)
        packed <<= 8
        packed |= (255 - np.arange(k, dtype=np.uint32))[:, None]
        top = packed.max(axis=0)
        best = 255 - (top & 0xFF).astype(np.int64)
        top >>= 8
        score = top
    else:
        score, best = _max_and_argmax(keys)
    # rank(key) = #{i : t_key[i] < key}, tabulated over all 65536 keys.
    counts = np.bincount(_half_keys(t_bits, signed).astype(np.int64), minlength=1 << 16)
    # int32 halves the table (256 KiB) that the per-pixel lookups hit at random.
    table = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    return table[score], best


def _max_and_argmax(flat: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-column maximum and the first row that attains it.

    ``argmax(axis=0)`` walks a C-contiguous (K, N) array across its rows for every
    column, which is several times slower than K passes along the rows; with the few
    maps of a class-map file the passes win. Ties keep the first row, as ``argmax``.
    Maps are finite (documented), so NaN handling does not arise.

    Args:
        flat (np.ndarray): (K, N) maps (floating, or order keys), K >= 1.

    Returns:
        tuple[np.ndarray, np.ndarray]: The maximum (N,) in ``flat``'s dtype and the
        int64 row index (N,).
    """
    if flat.shape[0] > 8:  # many classes: argmax's single pass is as good
        best = flat.argmax(axis=0)
        return np.take_along_axis(flat, best[None], axis=0)[0], best
    score = flat[0].copy()
    best = np.zeros(flat.shape[1], dtype=np.int64)
    for k in range(1, flat.shape[0]):
        higher = flat[k] > score
        best[higher] = k
        np.maximum(score, flat[k], out=score)
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
