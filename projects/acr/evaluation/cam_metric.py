"""mIoU of class activation maps with a sweep of the background threshold."""
import logging
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.registry import METRICS

from .background_thresholds import (DEFAULT_FIXED_THRESHOLD, OFFICIAL_NUM_THRESHOLDS,
                                    OFFICIAL_THRESHOLD_RANGE, sweep_thresholds)
from .threshold_curve import ThresholdCurve
from .threshold_sweep import _to_numpy, threshold_histogram


def _field(obj: Any, key: str, default: Any = None) -> Any:
    """Read ``key`` from a data element (attribute access) or a dict.

    mmengine's ``Evaluator`` hands metrics ``data_sample.to_dict()``, where
    the metainfo keys sit next to the data fields; metrics called directly
    usually get the data elements themselves. Both are accepted.
    """
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        meta = obj.get('metainfo')
        return meta.get(key, default) if isinstance(meta, dict) else default
    return getattr(obj, key, default)


def _unwrap_data(obj: Any) -> Any:
    """Return ``obj.data`` for ``PixelData``-like wrappers (or their dicts), else ``obj``."""
    if isinstance(obj, (BaseDataElement, dict)):
        data = _field(obj, 'data')
        if data is not None:
            return data
    return obj


@METRICS.register_module()
class CAMMetric(BaseMetric):
    """Segmentation quality of class activation maps over background thresholds.

    Each CAM is turned into a mask for every threshold ``t`` of the sweep
    (foreground ``1 + argmax_c cam[c]`` where ``max_c cam[c] > t``, background
    elsewhere) and compared with the ground truth. Confusion matrices are
    accumulated over the whole split, not averaged per image; the reported
    numbers are those of the threshold with the best mIoU, where the mean runs
    over the ``C + 1`` classes (background first) that occur in the ground
    truth or the prediction.

    Per image only a sparse histogram over (threshold rank, gt, foreground
    label) is kept: it holds the same information as the ``(T, C + 1, C + 1)``
    confusion matrices, but its size grows with the classes present in the
    image, not with ``C^2``, which keeps distributed gathering cheap on COCO.

    Args:
        thresholds (Sequence[float], optional): Background thresholds to
            sweep; sorted internally. Defaults to None, which means
            ``num_thresholds`` evenly spaced values over ``threshold_range``.
        num_thresholds (int): Number of thresholds when ``thresholds`` is not
            given. Defaults to 60.
        threshold_range (tuple[float, float]): Half-open range ``[lo, hi)``
            split into ``num_thresholds`` steps. Defaults to (0.0, 0.6): the
            default sweep is the official 0.00, 0.01, ..., 0.59.
        fixed_threshold (float, optional): A threshold fixed in advance; the
            mIoU there is reported as ``fixed_mIoU`` beside the swept best
            (which is chosen on the masks it is scored on). Added to the sweep
            when missing. Defaults to 0.5; None leaves it out.
        ignore_index (int): Ground-truth label that is not evaluated.
            Defaults to 255.
        cam_key (str): Field of the data sample holding the CAMs, a tensor of
            shape (C, H, W) in [0, 1] at the original image size. Defaults to
            ``'pred_cams'``.
        class_names (Sequence[str], optional): The ``C + 1`` class names,
            background first. Defaults to None, which uses
            ``dataset_meta['classes']``, or generic names when there is no
            dataset meta either.
        save_curve (str, optional): Where to save a plot of mIoU against the
            threshold (any format matplotlib writes, e.g. ``.png``) each time
            metrics are computed. Defaults to None (no plot).
        collect_device (str): Device used to gather results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None,
            which means :attr:`default_prefix` (``'cam'``).
        collect_dir (str, optional): Directory for gathering results when
            ``collect_device`` is ``'cpu'``. Defaults to None (a temporary one).

    Attributes:
        last_table (OrderedDict | None): Per-class results at the best
            threshold from the last :meth:`compute_metrics`, as columns
            ``'Class'``, ``'IoU'``, ``'Precision'``, ``'Recall'`` (percent).
        last_curve (dict | None): ``{'thresholds': (T,), 'mIoU': (T,)}`` from
            the last :meth:`compute_metrics`, mIoU in percent.
    """

    default_prefix: Optional[str] = 'cam'

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 num_thresholds: int = OFFICIAL_NUM_THRESHOLDS,
                 threshold_range: Tuple[float, float] = OFFICIAL_THRESHOLD_RANGE,
                 fixed_threshold: Optional[float] = DEFAULT_FIXED_THRESHOLD,
                 ignore_index: int = 255,
                 cam_key: str = 'pred_cams',
                 class_names: Optional[Sequence[str]] = None,
                 save_curve: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.fixed_threshold = None if fixed_threshold is None else float(fixed_threshold)
        self.thresholds = sweep_thresholds(thresholds, num_thresholds, threshold_range,
                                           self.fixed_threshold)
        self.ignore_index = ignore_index
        self.cam_key = cam_key
        self._class_names = list(class_names) if class_names is not None else None
        self.save_curve = save_curve
        self.last_table: Optional[Dict[str, list]] = None
        self.last_curve: Optional[Dict[str, np.ndarray]] = None

    @property
    def class_names(self) -> Optional[List[str]]:
        """The ``C + 1`` class names (background first), if known."""
        if self._class_names is not None:
            return self._class_names
        meta = self.dataset_meta or {}
        classes = meta.get('classes')
        return list(classes) if classes is not None else None

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Accumulate the threshold histogram of every sample in a batch.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[SegDataSample | dict]): Model outputs, each
                with ``cam_key`` (tensor of shape (C, H, W)) and
                ``gt_sem_seg`` (``PixelData`` with ``data`` of shape
                (1, H, W), or its dict form).
        """
        names = self.class_names
        for sample in data_samples:
            img = _field(sample, 'img_path', '<unknown image>')
            cams = _field(sample, self.cam_key)
            if cams is None:
                raise KeyError(f'data sample of {img} has no field {self.cam_key!r}')
            gt = _field(sample, 'gt_sem_seg')
            if gt is None:
                raise KeyError(f'data sample of {img} has no field gt_sem_seg')
            cams = _to_numpy(_unwrap_data(cams))
            gt = _to_numpy(_unwrap_data(gt))
            if gt.ndim == 3 and gt.shape[0] == 1:
                gt = gt[0]
            if cams.ndim != 3 or gt.shape != cams.shape[1:]:
                raise ValueError(f'{img}: CAMs of shape {tuple(cams.shape)} do not match the '
                                 f'ground truth of shape {tuple(gt.shape)}; expected (C, H, W) '
                                 'and (H, W) or (1, H, W)')
            if names is not None and cams.shape[0] != len(names) - 1:
                raise ValueError(f'{img}: CAMs of shape {tuple(cams.shape)} have {cams.shape[0]} '
                                 f'classes, expected {len(names) - 1} (the {len(names)} class '
                                 'names without background)')
            hist = threshold_histogram(cams, gt, self.thresholds, self.ignore_index)
            index = np.flatnonzero(hist)
            self.results.append(
                dict(shape=hist.shape, index=index.astype(np.int64), count=hist.reshape(-1)[index]))

    def _sum_histograms(self, results: List[dict]) -> np.ndarray:
        shapes = {tuple(r['shape']) for r in results}
        if len(shapes) != 1:
            raise ValueError(f'results have different histogram shapes {sorted(shapes)}: '
                             'the CAMs do not all have the same number of classes')
        shape = shapes.pop()
        index = np.concatenate([r['index'] for r in results])
        count = np.concatenate([r['count'] for r in results])
        # Float weights are exact for totals below 2**53 pixels.
        total = np.bincount(index, weights=count, minlength=int(np.prod(shape)))
        return np.rint(total).astype(np.int64).reshape(shape)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Sum the histograms and report the metrics at the best threshold.

        Args:
            results (list[dict]): Outputs of :meth:`process` from all ranks.

        Returns:
            dict[str, float]: ``'mIoU'``, ``'precision'``, ``'recall'`` (means
            over classes, in percent) at ``'best_threshold'`` (chosen on these
            masks), and ``'fixed_mIoU'`` at ``'fixed_threshold'``.
        """
        if not results:
            raise ValueError('CAMMetric got no results to evaluate')
        hist = self._sum_histograms(results)  # (T + 1, K, K)
        names = self.class_names
        if names is not None and len(names) != hist.shape[-1]:
            names = None  # generic names
        curve = ThresholdCurve.from_histogram(self.thresholds, hist, names)
        if np.all(np.isnan(curve.miou_curve)):
            print_log('CAMMetric: no valid ground-truth pixels, metrics are nan',
                      logger='current', level=logging.WARNING)
        best, report = curve.best_index, curve.report

        self.last_table = OrderedDict(
            Class=list(curve.class_names),
            IoU=(report.iou * 100).tolist(),
            Precision=(report.precision * 100).tolist(),
            Recall=(report.recall * 100).tolist())
        self.last_curve = dict(thresholds=self.thresholds.copy(), mIoU=curve.miou_curve * 100)
        self._log_results(best)
        if self.save_curve:
            curve.save_plot(self.save_curve)

        metrics = dict(
            mIoU=curve.miou * 100,
            best_threshold=curve.best_threshold,
            precision=report.mean_precision * 100,
            recall=report.mean_recall * 100)
        if self.fixed_threshold is not None:
            metrics.update(fixed_mIoU=curve.miou_at(self.fixed_threshold) * 100,
                           fixed_threshold=self.fixed_threshold)
        return metrics

    def _log_results(self, best: int) -> None:
        table = self.last_table
        curve = self.last_curve
        try:
            from prettytable import PrettyTable
        except ImportError:  # pragma: no cover - prettytable is a runtime requirement
            PrettyTable = None
        columns = list(table.keys())
        rows = [[table['Class'][i]] + [f'{table[c][i]:.2f}' for c in columns[1:]]
                for i in range(len(table['Class']))]
        if PrettyTable is not None:
            pt = PrettyTable(columns)
            pt.align['Class'] = 'l'
            for row in rows:
                pt.add_row(row)
            text = pt.get_string()
        else:
            lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
            lines += ['| ' + ' | '.join(map(str, row)) + ' |' for row in rows]
            text = '\n'.join(lines)
        t_best = float(curve['thresholds'][best])
        print_log(f'CAM per-class results at background threshold {t_best:.3f}:\n{text}',
                  logger='current')
        pairs = zip(curve['thresholds'], curve['mIoU'], strict=True)
        points = ' '.join(f'{t:.2f}:{m:.1f}' for t, m in pairs)
        print_log(f'CAM mIoU vs threshold: {points}', logger='current')
