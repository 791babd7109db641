"""mIoU of class-map files against ground-truth masks, with a background-threshold sweep."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from tqdm import tqdm

from ..datasets.label_mask import read_label_mask
from ..pseudo_labels.cam_io import CAM_SUFFIX, load_cams
from ..utils.cpus import available_cpus
from ..utils.forked_sum import fork_available, sum_in_forks
from .background_thresholds import DEFAULT_FIXED_THRESHOLD, sweep_thresholds, threshold_grid
from .prediction_files import PredictionPair, match_prediction_files
from .threshold_curve import ThresholdCurve
from .threshold_sweep import check_mask_values, confusion_from_histogram, value_histogram

T = TypeVar('T')

DEFAULT_THRESHOLDS = tuple(threshold_grid())  # the official 0.00, 0.01, ..., 0.59


class CAMEvalResult(ThresholdCurve):
    """What :meth:`CAMFileEvaluator.evaluate` returns: the split's :class:`ThresholdCurve`.

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
        super().__init__(thresholds, confusion, class_names)
        self.fixed_threshold = None if fixed_threshold is None else float(fixed_threshold)
        self.num_images = num_images
        self.missing = list(missing)

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
        self.save_plot(path, title=f'class maps, {self.num_images} images')


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

    def image_histogram(self, cams: np.ndarray, class_ids: np.ndarray, gt: np.ndarray,
                        source: str = 'class maps'
                        ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One image's threshold histogram over the classes it uses.

        Only the rows of the mask values present and the maps stored are counted: the
        counts equal those of :func:`threshold_histogram` on the dense (C, H, W) maps
        (absent classes all zero) restricted to these axes, while COCO-sized class sets
        cost no more than the few classes present. The dense arg-max over absent classes
        is that of the first absent class, so one all-zero map stands for all of them.

        Args:
            cams (np.ndarray): (K, H, W) maps of the classes ``class_ids``.
            class_ids (np.ndarray): (K,) foreground indices counted from 0.
            gt (np.ndarray): (H, W) mask: 0 background, 1..C classes, ``ignore_index``.
            source (str): Names the files in error messages.

        Returns:
            tuple[np.ndarray, np.ndarray, np.ndarray]: int64 (T + 1, R, M + 1) counts,
            the (R,) full-axis rows and the (M + 1,) full-axis columns they belong to.
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
        order = np.argsort(class_ids, kind='stable')
        map_ids = class_ids[order].astype(np.int64)
        maps = [cams[i].reshape(-1) for i in order]
        if maps and not np.issubdtype(maps[0].dtype, np.floating):
            maps = [m.astype(np.float64) for m in maps]
        absent = np.flatnonzero(~np.isin(np.arange(num_fg), map_ids))
        if absent.size:
            slot = int(np.searchsorted(map_ids, absent[0]))
            dtype = maps[0].dtype if maps else np.float32
            maps.insert(slot, np.zeros(gt.size, dtype=dtype))
            map_ids = np.insert(map_ids, slot, absent[0])
        values, counts = value_histogram(maps, gt, self.thresholds)
        check_mask_values(values, num_fg, self.ignore_index, source)
        keep = values != self.ignore_index
        rows = values[keep].astype(np.int64)
        hist = counts[:, keep]
        return hist, rows, np.concatenate([[0], map_ids + 1])

    def accumulate(self, total: np.ndarray, cams: np.ndarray, class_ids: np.ndarray,
                   gt: np.ndarray, source: str = 'class maps') -> None:
        """Adds one image's threshold histogram (:meth:`image_histogram`) to ``total``.

        Args:
            total (np.ndarray): int64 (T + 1, C + 1, C + 1) running histogram, in place.
            cams (np.ndarray): (K, H, W) maps of the classes ``class_ids``.
            class_ids (np.ndarray): (K,) foreground indices counted from 0.
            gt (np.ndarray): (H, W) mask: 0 background, 1..C classes, ``ignore_index``.
            source (str): Names the files in error messages.
        """
        self._add(total, self.image_histogram(cams, class_ids, gt, source))

    def sweep(self,
              load: Callable[[T], Tuple[np.ndarray, np.ndarray, np.ndarray, str]],
              items: Sequence[T],
              workers: Optional[int] = None,
              progress: bool = True) -> np.ndarray:
        """The summed threshold histogram of many images, counted in worker processes.

        Each worker (forked, so ``load`` and the items are shared, not pickled) counts
        every ``workers``-th image and returns its summed histogram; integer sums make
        the result identical to one process's. Threads would not help: the counting is
        many short numpy calls, each taking the GIL back.

        Args:
            load (Callable): Maps an item to ``(cams, class_ids, gt, source)``.
            items (Sequence): One item per image.
            workers (int, optional): Processes. By default the CPUs available (at most
                8), fewer for short lists (one per 32 images). One counts here, as do
                systems without fork.
            progress (bool): Show a progress bar.

        Returns:
            np.ndarray: int64 (T + 1, C + 1, C + 1) histogram.
        """
        num_classes = self.num_fg + 1
        shape = (self.thresholds.size + 1, num_classes, num_classes)
        if workers is None:
            workers = max(1, min(8, available_cpus(), len(items) // 32))
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        if not fork_available():
            workers = 1
        workers = max(1, min(workers, len(items)))

        def share(rank: int, tick: Callable[[int], None]) -> np.ndarray:
            total = np.zeros(shape, dtype=np.int64)
            done = 0
            for i in range(rank, len(items), workers):
                cams, class_ids, gt, source = load(items[i])
                self._add(total, self.image_histogram(cams, class_ids, gt, source))
                done += 1
                if done % 16 == 0:
                    tick(16)
            tick(done % 16)
            return total

        with tqdm(total=len(items), desc='evaluating class maps', unit='img',
                  disable=not progress) as bar:
            if workers == 1:
                return share(0, bar.update)
            return sum_in_forks(share, workers, on_progress=bar.update)

    @staticmethod
    def _add(total: np.ndarray, counted: Tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        hist, rows, columns = counted
        total[:, rows[:, None], columns[None, :]] += hist

    def evaluate(self,
                 cam_dir: str,
                 items: Sequence[Tuple[str, str]],
                 progress: bool = True,
                 workers: Optional[int] = None) -> CAMEvalResult:
        """Reads each image's class maps and mask once and sweeps every threshold.

        Args:
            cam_dir (str): Directory of ``<img_id>.npz`` files.
            items (Sequence[tuple[str, str]]): ``(img_id, mask_path)`` of every image.
            progress (bool): Show a progress bar.
            workers (int, optional): Processes reading and counting; see :meth:`sweep`.

        Returns:
            CAMEvalResult: Curve, best threshold and per-class metrics.
        """
        pairs, missing = match_prediction_files(cam_dir, items, CAM_SUFFIX, self.on_missing,
                                                kind='class-map')

        def load(pair: PredictionPair) -> Tuple[np.ndarray, np.ndarray, np.ndarray, str]:
            data = load_cams(pair.pred_path)
            return (data['cams'], data['class_ids'], read_label_mask(pair.gt_path),
                    f'{pair.pred_path} vs {pair.gt_path}')

        total = self.sweep(load, pairs, workers=workers, progress=progress)
        return CAMEvalResult(self.thresholds, confusion_from_histogram(total), self.class_names,
                             num_images=len(pairs), missing=missing,
                             fixed_threshold=self.fixed_threshold)


def thresholds_from_range(num_thresholds: int,
                          threshold_range: Tuple[float, float] = (0.0, 0.6)) -> List[float]:
    """The sweep :class:`CAMMetric` builds from these arguments, as a list."""
    return threshold_grid(num_thresholds, threshold_range).tolist()
