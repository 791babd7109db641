"""mIoU of class-map files against ground-truth masks, with a background-threshold sweep."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..datasets.label_cache import read_label_mask
from ..pseudo_labels.cam_io import CAM_SUFFIX, load_cams
from .background_thresholds import (DEFAULT_FIXED_THRESHOLD, best_threshold_index, sweep_thresholds,
                                    threshold_grid, threshold_index)
from .prediction_files import match_prediction_files
from .segmentation_report import SegmentationReport
from .threshold_curve_plot import save_threshold_curve
from .threshold_sweep import confusion_from_histogram, miou_from_confusion, threshold_histogram

DEFAULT_THRESHOLDS = tuple(threshold_grid())  # the official 0.00, 0.01, ..., 0.59


class CAMEvalResult:
    """What :meth:`CAMFileEvaluator.evaluate` returns.

    Args:
        thresholds (np.ndarray): (T,) background thresholds, ascending.
        confusion (np.ndarray): (T, C + 1, C + 1) confusion matrices of the split, one per
            threshold, indexed ``[threshold, gt, pred]``.
        class_names (Sequence[str]): The C + 1 class names, background first.
        num_images (int): Images evaluated.
        missing (Sequence[str]): Ids of the images left out for want of a file.
        fixed_threshold (float, optional): A threshold of the sweep fixed in advance,
            reported as ``fixed_mIoU`` beside the best (which is chosen on the masks).

    Attributes:
        miou_curve (np.ndarray): (T,) mIoU in [0, 1] of each threshold.
        best_index (int): Index of the best threshold (the lowest one among ties).
        report (SegmentationReport): Per-class metrics at the best threshold.
    """

    def __init__(self, thresholds: np.ndarray, confusion: np.ndarray,
                 class_names: Sequence[str], num_images: int, missing: Sequence[str],
                 fixed_threshold: Optional[float] = None) -> None:
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.fixed_threshold = None if fixed_threshold is None else float(fixed_threshold)
        self.confusion = confusion
        self.num_images = num_images
        self.missing = list(missing)
        self.miou_curve = miou_from_confusion(confusion)
        self.best_index = best_threshold_index(self.miou_curve)
        self.report = SegmentationReport(confusion[self.best_index], class_names)

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best_index])

    @property
    def miou(self) -> float:
        """mIoU in [0, 1] at the best threshold."""
        return self.report.miou

    def miou_at(self, threshold: float) -> float:
        """mIoU in [0, 1] at one threshold of the sweep."""
        return float(self.miou_curve[threshold_index(self.thresholds, threshold)])

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready summary; metrics in percent, nan as None."""
        out = dict(best_threshold=self.best_threshold)
        if self.fixed_threshold is not None:
            m = self.miou_at(self.fixed_threshold)
            out.update(fixed_threshold=self.fixed_threshold,
                       fixed_mIoU=None if np.isnan(m) else m * 100)
        out.update(self.report.to_dict())
        out['confusion_at_best'] = out.pop('confusion')
        out.update(
            curve=dict(thresholds=self.thresholds.tolist(),
                       mIoU=[None if np.isnan(m) else float(m) * 100 for m in self.miou_curve]),
            num_images=self.num_images,
            num_missing=len(self.missing),
            missing=self.missing)
        return out

    def save_curve(self, path: str) -> None:
        """Plots mIoU against the threshold to ``path`` (format from the suffix), atomically."""
        save_threshold_curve(path, self.thresholds, self.miou_curve * 100, self.best_index,
                             title=f'class maps, {self.num_images} images')


class CAMFileEvaluator:
    """Evaluates a directory of class-map files (:mod:`..pseudo_labels.cam_io`).

    Each image's maps become a mask per threshold ``t`` (``1 + argmax_c cam[c]`` where
    ``max_c cam[c] > t``, background elsewhere), exactly as in :class:`CAMMetric`, and the
    confusion matrices are accumulated over the split. The data are read once: per image
    one :func:`threshold_histogram` holds the counts of every threshold.

    Args:
        class_names (Sequence[str]): The C + 1 class names, background first.
        thresholds (Sequence[float]): Background thresholds; sorted here. Defaults to
            the official 0.00, 0.01, ..., 0.59.
        fixed_threshold (float, optional): Threshold fixed in advance, added to the
            sweep and reported as ``fixed_mIoU``. Defaults to 0.5; None leaves it out.
        ignore_index (int): Ground-truth label that is not evaluated. Defaults to 255.
        on_missing (str): ``'raise'`` or ``'skip'`` an image without a class-map file.
    """

    def __init__(self,
                 class_names: Sequence[str],
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 fixed_threshold: Optional[float] = DEFAULT_FIXED_THRESHOLD,
                 ignore_index: int = 255,
                 on_missing: str = 'raise') -> None:
        if len(class_names) < 2:
            raise ValueError(f'need background and at least one class, got {class_names}')
        if ignore_index < 0:
            raise ValueError(f'ignore_index must be >= 0, got {ignore_index}')
        self.class_names = list(class_names)
        self.thresholds = sweep_thresholds(thresholds, fixed_threshold=fixed_threshold)
        self.fixed_threshold = fixed_threshold
        self.ignore_index = ignore_index
        self.on_missing = on_missing

    @property
    def num_fg(self) -> int:
        return len(self.class_names) - 1

    def accumulate(self, total: np.ndarray, cams: np.ndarray, class_ids: np.ndarray,
                   gt: np.ndarray, source: str = 'class maps') -> None:
        """Adds one image's threshold histogram to ``total``, in place.

        Only the classes stored or annotated in the image are handed to
        :func:`threshold_histogram` and the result is scattered into the full class axes:
        the counts equal those of the dense (C, H, W) maps (absent classes are zero, and
        class 0 is kept so that all-zero pixels get the same arg-max), while COCO-sized
        class sets cost no more than the few classes present.

        Args:
            total (np.ndarray): int64 (T + 1, C + 1, C + 1) running histogram.
            cams (np.ndarray): (K, H, W) maps of the classes ``class_ids``.
            class_ids (np.ndarray): (K,) foreground indices counted from 0.
            gt (np.ndarray): (H, W) mask: 0 background, 1..C classes, ``ignore_index``.
            source (str): Names the files in error messages.
        """
        num_fg = self.num_fg
        class_ids = np.asarray(class_ids).reshape(-1)
        if not np.issubdtype(class_ids.dtype, np.integer) or np.any(
                (class_ids < 0) | (class_ids >= num_fg)) or len(np.unique(class_ids)) != len(
                    class_ids):
            raise ValueError(f'{source}: class_ids {class_ids.tolist()} must be distinct '
                             f'integers in [0, {num_fg - 1}]')
        if cams.ndim != 3 or cams.shape[0] != class_ids.size or cams.shape[1:] != gt.shape:
            raise ValueError(f'{source}: maps of shape {cams.shape} for {class_ids.size} '
                             f'classes do not match the mask of shape {gt.shape}')
        if gt.dtype in (np.uint8, np.uint16):  # mask PNGs: counting beats sorting
            values = np.flatnonzero(np.bincount(gt.reshape(-1)))
        else:
            values = np.unique(gt)
        bad = values[((values < 0) | (values > num_fg)) & (values != self.ignore_index)]
        if bad.size:
            raise ValueError(f'{source}: mask values {bad.tolist()} are outside [0, {num_fg}] '
                             f'and are not the ignore index {self.ignore_index}')
        gt_fg = values[(values > 0) & (values != self.ignore_index)] - 1
        used = np.union1d(np.union1d(class_ids, gt_fg), [0]).astype(np.int64)  # (U,) sorted
        compact = np.zeros((used.size, ) + gt.shape, dtype=cams.dtype)
        compact[np.searchsorted(used, class_ids)] = cams
        lut = np.zeros(int(max(values.max(), self.ignore_index, num_fg)) + 1, dtype=np.int64)
        lut[used + 1] = np.arange(1, used.size + 1)
        lut[self.ignore_index] = self.ignore_index
        hist = threshold_histogram(compact, lut[gt], self.thresholds, self.ignore_index)
        axes = np.concatenate([[0], used + 1])
        total[:, axes[:, None], axes[None, :]] += hist

    def evaluate(self,
                 cam_dir: str,
                 items: Sequence[Tuple[str, str]],
                 progress: bool = True) -> CAMEvalResult:
        """Reads each image's class maps and mask once and sweeps every threshold.

        Args:
            cam_dir (str): Directory of ``<img_id>.npz`` files.
            items (Sequence[tuple[str, str]]): ``(img_id, mask_path)`` of every image.
            progress (bool): Show a progress bar.

        Returns:
            CAMEvalResult: Curve, best threshold and per-class metrics.
        """
        pairs, missing = match_prediction_files(cam_dir, items, CAM_SUFFIX, self.on_missing,
                                                kind='class-map')
        num_t = self.thresholds.size
        num_classes = self.num_fg + 1
        total = np.zeros((num_t + 1, num_classes, num_classes), dtype=np.int64)
        for pair in tqdm(pairs, desc='evaluating class maps', unit='img', disable=not progress):
            data = load_cams(pair.pred_path)
            gt = read_label_mask(pair.gt_path)
            self.accumulate(total, data['cams'], data['class_ids'], gt,
                            source=f'{pair.pred_path} vs {pair.gt_path}')
        return CAMEvalResult(self.thresholds, confusion_from_histogram(total), self.class_names,
                             num_images=len(pairs), missing=missing,
                             fixed_threshold=self.fixed_threshold)


def thresholds_from_range(num_thresholds: int,
                          threshold_range: Tuple[float, float] = (0.0, 0.6)) -> List[float]:
    """The sweep :class:`CAMMetric` builds from these arguments, as a list."""
    return threshold_grid(num_thresholds, threshold_range).tolist()
