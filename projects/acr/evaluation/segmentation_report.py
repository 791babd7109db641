"""Per-class IoU, precision and recall of a segmentation, from its confusion matrix."""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from .threshold_sweep import (iou_from_confusion, nanmean_last, precision_from_confusion,
                              recall_from_confusion)


class SegmentationReport:
    """Per-class metrics of a segmentation accumulated over a split.

    The mean IoU runs over the classes that occur in the ground truth or the prediction
    (classes with neither are nan and left out), as in :class:`CAMMetric`.

    Args:
        confusion (np.ndarray): int64 (K, K) pixel counts indexed ``[gt, pred]``, background
            first.
        class_names (Sequence[str]): The K class names.
        unlabeled (np.ndarray, optional): (K,) valid ground-truth pixels of each class that
            the prediction left without a label. They count as misses (they lower recall
            and IoU) but are nobody's false positive. Defaults to None (no such pixels).
    """

    def __init__(self,
                 confusion: np.ndarray,
                 class_names: Sequence[str],
                 unlabeled: Optional[np.ndarray] = None) -> None:
        confusion = np.asarray(confusion, dtype=np.int64)
        num = confusion.shape[0]
        if confusion.shape != (num, num):
            raise ValueError(f'confusion must be square (K, K), got {confusion.shape}')
        if len(class_names) != num:
            raise ValueError(f'{len(class_names)} class names for a {num}-class confusion '
                             'matrix')
        unlabeled = (np.zeros(num, np.int64) if unlabeled is None
                     else np.asarray(unlabeled, dtype=np.int64))
        if unlabeled.shape != (num, ):
            raise ValueError(f'unlabeled must have shape ({num},), got {unlabeled.shape}')
        self.confusion = confusion
        self.class_names = list(class_names)
        self.unlabeled = unlabeled
        # The unlabeled pixels form an extra prediction column; its own row stays empty.
        full = np.zeros((num + 1, num + 1), dtype=np.int64)
        full[:num, :num] = confusion
        full[:num, num] = unlabeled
        self.iou = iou_from_confusion(full)[:num]
        self.recall = recall_from_confusion(full)[:num]
        self.precision = precision_from_confusion(confusion)

    @property
    def miou(self) -> float:
        """Mean IoU in [0, 1] (nan when no class occurs)."""
        return float(nanmean_last(self.iou))

    @property
    def mean_precision(self) -> float:
        return float(nanmean_last(self.precision))

    @property
    def mean_recall(self) -> float:
        return float(nanmean_last(self.recall))

    @property
    def num_pixels(self) -> int:
        """Valid ground-truth pixels evaluated."""
        return int(self.confusion.sum() + self.unlabeled.sum())

    def rows(self) -> List[Dict[str, object]]:
        """One dict per class: ``Class``, ``IoU``, ``Precision``, ``Recall`` in percent."""
        return [
            dict(Class=name, IoU=_percent(i), Precision=_percent(p), Recall=_percent(r))
            for name, i, p, r in zip(self.class_names, self.iou, self.precision, self.recall)
        ]

    def to_markdown(self) -> str:
        """The per-class table and a mean row as a markdown table (nan shown as ``-``)."""
        columns = ('Class', 'IoU', 'Precision', 'Recall')
        means = dict(Class='**mean**', IoU=_percent(self.miou),
                     Precision=_percent(self.mean_precision), Recall=_percent(self.mean_recall))
        lines = ['| ' + ' | '.join(columns) + ' |', '|:---|---:|---:|---:|']
        for row in self.rows() + [means]:
            cells = [str(row['Class'])] + [_fmt(row[c]) for c in columns[1:]]
            lines.append('| ' + ' | '.join(cells) + ' |')
        return '\n'.join(lines)

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready summary (percent; nan as None)."""
        return dict(
            mIoU=_percent(self.miou),
            precision=_percent(self.mean_precision),
            recall=_percent(self.mean_recall),
            num_pixels=self.num_pixels,
            per_class=self.rows(),
            confusion=self.confusion.tolist())


def _percent(x: float) -> Optional[float]:
    x = float(x)
    return None if math.isnan(x) else x * 100


def _fmt(x: Optional[float]) -> str:
    return '-' if x is None else f'{x:.2f}'
