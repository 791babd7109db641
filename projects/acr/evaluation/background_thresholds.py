"""The background-threshold sweep of class-map evaluation, defined once.

A class map becomes a mask by calling a pixel background where no class score exceeds
the threshold ``t``. The official ``evaluation.py --curve True`` tries
``t = 0.00, 0.01, ..., 0.59`` (60 values) and reports the best mIoU, where the mean runs
over all classes. The sweep chooses ``t`` on the ground truth of the split it reports, so
beside it we report the mIoU at one threshold fixed in advance.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .threshold_sweep import check_thresholds

#: The official sweep: ``num_thresholds`` values evenly spaced over ``[lo, hi)``.
OFFICIAL_NUM_THRESHOLDS = 60
OFFICIAL_THRESHOLD_RANGE = (0.0, 0.6)
#: The threshold fixed in advance (not chosen on the masks) of the second figure.
DEFAULT_FIXED_THRESHOLD = 0.5


def threshold_grid(num_thresholds: int = OFFICIAL_NUM_THRESHOLDS,
                   threshold_range: Tuple[float, float] = OFFICIAL_THRESHOLD_RANGE) -> np.ndarray:
    """``num_thresholds`` values evenly spaced over the half-open ``[lo, hi)``.

    The defaults give the official 0.00, 0.01, ..., 0.59.

    Returns:
        np.ndarray: (T,) float64, ascending, rounded to 12 decimals so that the grid
        holds 0.07 rather than 0.07000000000000001.
    """
    n = int(num_thresholds)
    lo, hi = (float(v) for v in threshold_range)
    if n < 1:
        raise ValueError(f'num_thresholds must be >= 1, got {num_thresholds}')
    if not hi > lo:
        raise ValueError(f'threshold_range must be (lo, hi) with hi > lo, got {threshold_range}')
    return np.round(lo + (hi - lo) * np.arange(n) / n, 12)


def sweep_thresholds(thresholds: Optional[Sequence[float]] = None,
                     num_thresholds: int = OFFICIAL_NUM_THRESHOLDS,
                     threshold_range: Tuple[float, float] = OFFICIAL_THRESHOLD_RANGE,
                     fixed_threshold: Optional[float] = None) -> np.ndarray:
    """The thresholds to sweep: the given ones (sorted) or the grid, plus the fixed one.

    Args:
        thresholds (Sequence[float], optional): Explicit thresholds; the grid otherwise.
        num_thresholds (int): Grid size when ``thresholds`` is None.
        threshold_range (tuple[float, float]): Grid range when ``thresholds`` is None.
        fixed_threshold (float, optional): Added to the sweep when missing, so that one
            pass gives both figures.

    Returns:
        np.ndarray: (T,) float64, ascending, without duplicates.
    """
    if thresholds is None:
        t = threshold_grid(num_thresholds, threshold_range)
    else:
        t = np.sort(np.asarray(thresholds, dtype=np.float64))
        check_thresholds(t)
    if fixed_threshold is not None:
        t = np.union1d(t, [float(fixed_threshold)])
    return check_thresholds(np.unique(t))


def best_threshold_index(miou: np.ndarray) -> int:
    """Index of the best mIoU of a sweep; ties go to the lowest threshold, all-nan to 0.

    Args:
        miou (np.ndarray): (T,) mIoU per threshold (nan where undefined).
    """
    miou = np.asarray(miou, dtype=np.float64)
    if miou.size == 0 or np.all(np.isnan(miou)):
        return 0
    return int(np.nanargmax(miou))


def threshold_index(thresholds: np.ndarray, value: float) -> int:
    """Index of ``value`` in the sweep (it must be one of the thresholds)."""
    hits = np.flatnonzero(np.isclose(thresholds, float(value), rtol=0, atol=1e-9))
    if hits.size == 0:
        raise ValueError(f'threshold {value} is not in the sweep {np.asarray(thresholds).tolist()}')
    return int(hits[0])
