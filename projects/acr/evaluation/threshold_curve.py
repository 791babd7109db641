"""mIoU of class maps over a background-threshold sweep, its best threshold and the classes there.

Every evaluation of class maps (the mmengine metric, the evaluator of saved map files and
the training hook) sums one threshold histogram (:func:`.threshold_histogram`) over its
images and reads the same figures from it: the mIoU of every threshold (the curve), the
threshold with the best mIoU (the lowest among ties) and the per-class metrics there. They
are all derived here.
"""
from typing import Optional, Sequence

import numpy as np

from .background_thresholds import best_threshold_index, threshold_index
from .segmentation_report import SegmentationReport
from .threshold_curve_plot import save_threshold_curve
from .threshold_sweep import confusion_from_histogram, miou_from_confusion


def generic_class_names(num_classes: int) -> list:
    """``['background', 'class_1', ..., 'class_{K-1}']`` for K classes without names."""
    return ['background'] + [f'class_{i}' for i in range(1, num_classes)]


class ThresholdCurve:
    """The mIoU of every background threshold of a sweep and the metrics at the best one.

    The mean IoU runs over the classes that occur in the ground truth or the prediction
    (see :class:`SegmentationReport`).

    Args:
        thresholds (np.ndarray): (T,) background thresholds, ascending.
        confusion (np.ndarray): (T, K, K) confusion matrices of the split, one per
            threshold, indexed ``[threshold, gt, pred]``, background first.
        class_names (Sequence[str], optional): The K class names, background first.
            Defaults to None: ``'background'``, ``'class_1'``, ...

    Attributes:
        miou_curve (np.ndarray): (T,) mIoU in [0, 1] of each threshold (nan where no
            class occurs).
        best_index (int): Index of the best threshold (the lowest one among ties, 0 when
            the whole curve is nan).
        report (SegmentationReport): Per-class metrics at the best threshold.
    """

    def __init__(self, thresholds: np.ndarray, confusion: np.ndarray,
                 class_names: Optional[Sequence[str]] = None) -> None:
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        confusion = np.asarray(confusion)
        if confusion.ndim != 3 or confusion.shape[0] != self.thresholds.size:
            raise ValueError(f'confusion of shape {confusion.shape} does not hold one (K, K) '
                             f'matrix for each of the {self.thresholds.size} thresholds')
        self.confusion = confusion
        if class_names is None:
            class_names = generic_class_names(confusion.shape[-1])
        self.miou_curve = miou_from_confusion(confusion)
        self.best_index = best_threshold_index(self.miou_curve)
        self.report = SegmentationReport(confusion[self.best_index], class_names)

    @classmethod
    def from_histogram(cls, thresholds: np.ndarray, hist: np.ndarray,
                       class_names: Optional[Sequence[str]] = None) -> 'ThresholdCurve':
        """The curve of a summed threshold histogram.

        Args:
            thresholds (np.ndarray): (T,) background thresholds, ascending.
            hist (np.ndarray): (T + 1, K, K) histogram (:func:`.threshold_histogram`),
                summed over the images.
            class_names (Sequence[str], optional): As for the constructor.
        """
        return cls(thresholds, confusion_from_histogram(hist), class_names)

    @property
    def class_names(self) -> list:
        """The K class names, background first."""
        return self.report.class_names

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best_index])

    @property
    def miou(self) -> float:
        """mIoU in [0, 1] at the best threshold."""
        return self.report.miou

    def miou_at(self, threshold: float) -> float:
        """mIoU in [0, 1] at one threshold of the sweep (ValueError if not in it)."""
        return float(self.miou_curve[threshold_index(self.thresholds, threshold)])

    def save_plot(self, path: str, title: Optional[str] = None) -> None:
        """Plots mIoU (percent) against the threshold to ``path``, atomically.

        Args:
            path (str): Output file; the format follows the suffix (PNG without one).
            title (str, optional): Plot title.
        """
        save_threshold_curve(path, self.thresholds, self.miou_curve * 100, self.best_index,
                             title=title)
