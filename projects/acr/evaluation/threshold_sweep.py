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
from typing import Any, Sequence, Union

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
    gt = gt[valid]
    if gt.size and (gt.min() < 0 or gt.max() > num_fg):
        bad = np.unique(gt[(gt < 0) | (gt > num_fg)])
        raise ValueError(f'gt labels {bad.tolist()} are outside [0, {num_fg}] and are not the '
                         f'ignore index {ignore_index}')

    if num_fg == 0:
        # Without foreground classes every pixel is background at any threshold:
        # rank 0 puts it in the background column of every confusion matrix.
        score_rank = np.zeros_like(gt)
        fg_label = np.zeros_like(gt)
    else:
        flat = cams.reshape(num_fg, -1)
        if not np.issubdtype(flat.dtype, np.floating):
            flat = flat.astype(np.float64)
        # Reducing over classes before masking avoids copying all C maps.
        best = flat.argmax(axis=0)
        score = np.take_along_axis(flat, best[None], axis=0)[0][valid]
        fg_label = best[valid] + 1
        # Comparing in the score dtype keeps "equal to the threshold" exact for
        # values that the user wrote as the same literal.
        t_cast = t.astype(score.dtype)
        # side='left' counts thresholds strictly below the score: ties are background.
        score_rank = np.searchsorted(t_cast, score, side='left')

    index = (score_rank * num_classes + gt) * num_classes + fg_label
    hist = np.bincount(index, minlength=(num_t + 1) * num_classes * num_classes)
    return hist.astype(np.int64, copy=False).reshape(num_t + 1, num_classes, num_classes)


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
