"""mIoU of label PNGs (e.g. pseudo labels) against ground-truth masks."""
from typing import Dict, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..datasets.label_mask import read_label_mask
from .prediction_files import match_prediction_files
from .segmentation_report import SegmentationReport

PRED_IGNORE_MODES = ('exclude', 'miss')


class LabelEvalResult:
    """What :meth:`LabelEvaluator.evaluate` returns.

    Args:
        report (SegmentationReport): Per-class metrics over the split.
        num_images (int): Images evaluated.
        missing (Sequence[str]): Ids of the images left out for want of a file.
        unlabeled_pixels (int): Valid ground-truth pixels that the labels mark as ignored.
        pred_ignore (str): How those pixels were counted (see :class:`LabelEvaluator`).
    """

    def __init__(self, report: SegmentationReport, num_images: int, missing: Sequence[str],
                 unlabeled_pixels: int, pred_ignore: str) -> None:
        self.report = report
        self.num_images = num_images
        self.missing = list(missing)
        self.unlabeled_pixels = int(unlabeled_pixels)
        self.pred_ignore = pred_ignore

    @property
    def miou(self) -> float:
        """mIoU in [0, 1]."""
        return self.report.miou

    @property
    def coverage(self) -> float:
        """Fraction of the valid ground-truth pixels that received a label."""
        total = self.report.confusion.sum() + self.unlabeled_pixels
        return float(self.report.confusion.sum() / total) if total else float('nan')

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready summary; metrics in percent, nan as None."""
        out = self.report.to_dict()
        coverage = self.coverage
        out.update(
            coverage=None if np.isnan(coverage) else coverage * 100,
            pred_ignore=self.pred_ignore,
            num_images=self.num_images,
            num_missing=len(self.missing),
            missing=self.missing)
        return out


class LabelEvaluator:
    """Evaluates a directory of ``<img_id>.png`` label maps.

    The PNGs hold class ids as pixel values (grayscale or palette images, as written by
    mmseg or the pseudo-label tools); ``ignore_index`` marks pixels without a label.
    Ground-truth ``ignore_index`` pixels are never evaluated. Prediction ``ignore_index``
    pixels are, by default, left out (the usual way pseudo labels with uncertain regions
    are scored; the result then also reports the *coverage*, the labelled fraction), or
    with ``pred_ignore='miss'`` counted as misses of their ground-truth class.

    Args:
        class_names (Sequence[str]): The K class names, background first.
        ignore_index (int): Ignore label of masks and predictions. Defaults to 255.
        pred_ignore (str): ``'exclude'`` or ``'miss'``, see above. Defaults to
            ``'exclude'``.
        on_missing (str): ``'raise'`` or ``'skip'`` an image without a label file.
        suffix (str): Label file suffix. Defaults to ``'.png'``.
    """

    def __init__(self,
                 class_names: Sequence[str],
                 ignore_index: int = 255,
                 pred_ignore: str = 'exclude',
                 on_missing: str = 'raise',
                 suffix: str = '.png') -> None:
        if len(class_names) < 2:
            raise ValueError(f'need background and at least one class, got {class_names}')
        if pred_ignore not in PRED_IGNORE_MODES:
            raise ValueError(f'pred_ignore must be one of {PRED_IGNORE_MODES}, '
                             f'got {pred_ignore!r}')
        if 0 <= ignore_index < len(class_names):
            raise ValueError(f'ignore_index {ignore_index} is a class id '
                             f'(0..{len(class_names) - 1})')
        self.class_names = list(class_names)
        self.ignore_index = ignore_index
        self.pred_ignore = pred_ignore
        self.on_missing = on_missing
        self.suffix = suffix

    def confusion(self, pred: np.ndarray, gt: np.ndarray,
                  source: str = 'labels') -> Tuple[np.ndarray, np.ndarray]:
        """Pixel counts of one image.

        Args:
            pred (np.ndarray): (H, W) predicted class ids or ``ignore_index``.
            gt (np.ndarray): (H, W) ground-truth class ids or ``ignore_index``.
            source (str): Names the files in error messages.

        Returns:
            tuple: int64 confusion (K, K) indexed ``[gt, pred]`` and (K,) counts of the
            valid ground-truth pixels of each class that ``pred`` leaves unlabelled.
        """
        num = len(self.class_names)
        if pred.shape != gt.shape:
            raise ValueError(f'{source}: labels of shape {pred.shape} do not match the mask '
                             f'of shape {gt.shape}')
        for name, arr in (('labels', pred), ('mask', gt)):
            values = np.unique(arr)
            bad = values[((values < 0) | (values >= num)) & (values != self.ignore_index)]
            if bad.size:
                raise ValueError(f'{source}: {name} hold values {bad.tolist()} outside '
                                 f'[0, {num - 1}] and not the ignore index {self.ignore_index}')
        valid = gt != self.ignore_index
        gt = gt[valid].astype(np.int64)
        pred = pred[valid].astype(np.int64)
        # Unlabelled predictions get the extra column ``num``.
        pred[pred == self.ignore_index] = num
        counts = np.bincount(gt * (num + 1) + pred, minlength=num * (num + 1))
        counts = counts.reshape(num, num + 1)
        return counts[:, :num], counts[:, num]

    def evaluate(self,
                 label_dir: str,
                 items: Sequence[Tuple[str, str]],
                 progress: bool = True) -> LabelEvalResult:
        """Reads each image's labels and mask once and accumulates the confusion matrix.

        Args:
            label_dir (str): Directory of ``<img_id><suffix>`` files.
            items (Sequence[tuple[str, str]]): ``(img_id, mask_path)`` of every image.
            progress (bool): Show a progress bar.

        Returns:
            LabelEvalResult: Per-class metrics, coverage and the images left out.
        """
        pairs, missing = match_prediction_files(label_dir, items, self.suffix, self.on_missing,
                                                kind='label')
        num = len(self.class_names)
        conf = np.zeros((num, num), dtype=np.int64)
        unlabeled = np.zeros(num, dtype=np.int64)
        for pair in tqdm(pairs, desc='evaluating labels', unit='img', disable=not progress):
            c, u = self.confusion(read_label_mask(pair.pred_path), read_label_mask(pair.gt_path),
                                  source=f'{pair.pred_path} vs {pair.gt_path}')
            conf += c
            unlabeled += u
        report = SegmentationReport(
            conf, self.class_names, unlabeled if self.pred_ignore == 'miss' else None)
        return LabelEvalResult(report, len(pairs), missing, int(unlabeled.sum()),
                               self.pred_ignore)
