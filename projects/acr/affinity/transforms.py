"""Loading and packing the two CRF label maps of an AffinityNet training image."""
from typing import List, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS
from PIL import Image

from .affinity_labels import combine_crf_labels


def read_label_png(path: str) -> np.ndarray:
    """Class ids of a label PNG (palette indices as stored), uint8 (H, W).

    Raises:
        FileNotFoundError: The file is missing.
        OSError: It cannot be decoded.
        ValueError: It is not single-channel.
    """
    try:
        with Image.open(path) as img:
            label = np.array(img)
    except FileNotFoundError as err:
        raise FileNotFoundError(f'{path}: label map not found') from err
    except (OSError, SyntaxError) as err:
        raise OSError(f'{path}: cannot decode label map (truncated or corrupt?): {err}') from err
    if label.ndim != 2:
        raise ValueError(f'{path}: label map must be single-channel class ids, got shape '
                         f'{label.shape}')
    return label.astype(np.uint8)


@TRANSFORMS.register_module()
class LoadAffinityLabels(BaseTransform):
    """Loads the low-alpha (or combined) and high-alpha CRF labels of an image.

    Put it right after the image loader. The maps must have the image's size; an image
    whose labels mark no pixel as known (no affinity label can come of it) is an error
    naming it, or with ``on_empty='skip'`` a warning, a count and ``None`` (mmengine's
    dataset then draws another image).

    Required keys: ``seg_map_path``, ``seg_map_path_high`` (may be None), ``ori_shape``,
    ``img_path``. Added keys: ``gt_seg_map`` (H, W) uint8 and, when a high-alpha map is
    given, ``gt_seg_map_high`` (H, W) uint8, both in ``seg_fields`` so that geometric
    transforms move them with the image. Combined labels give ``gt_seg_map`` only.

    Args:
        on_empty (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        ignore_index (int): Unknown value. Defaults to 255.
    """

    def __init__(self, on_empty: str = 'raise', ignore_index: int = 255) -> None:
        if on_empty not in ('raise', 'skip'):
            raise ValueError(f"on_empty must be 'raise' or 'skip', got {on_empty!r}")
        self.on_empty = on_empty
        self.ignore_index = int(ignore_index)
        self.skipped: List[str] = []

    def transform(self, results: dict) -> Optional[dict]:
        img_path = results.get('img_path')
        paths = [results['seg_map_path'], results.get('seg_map_path_high')]
        maps = [read_label_png(p) if p else None for p in paths]
        shape = results.get('ori_shape')
        for p, m in zip(paths, maps):
            if m is not None and shape is not None and tuple(m.shape) != tuple(shape[:2]):
                raise ValueError(f'label map {p} is {m.shape[0]}x{m.shape[1]} (HxW) but image '
                                 f'{img_path} is {shape[0]}x{shape[1]}')
        low, high = maps
        # Combined labels (no high-alpha map) are their own confident label.
        combined = (torch.from_numpy(low) if high is None else combine_crf_labels(
            torch.from_numpy(low), torch.from_numpy(high), self.ignore_index))
        if not bool((combined != self.ignore_index).any()):
            message = (f'image {img_path}: its CRF labels ({", ".join(p for p in paths if p)}) '
                       'mark no pixel as confident foreground or background, so it has no '
                       'affinity label')
            if self.on_empty == 'raise':
                raise ValueError(message)
            self.skipped.append(img_path)
            print_log(f'{message}; skipped ({len(self.skipped)} so far in this process)',
                      logger='current', level=30)
            return None
        results['gt_seg_map'] = low
        fields = ['gt_seg_map']
        if high is not None:
            results['gt_seg_map_high'] = high
            fields.append('gt_seg_map_high')
        results['seg_fields'] = [*results.get('seg_fields', []), *fields]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(on_empty={self.on_empty!r})'


@TRANSFORMS.register_module()
class PackAffinityInputs(PackSegInputs):
    """``PackSegInputs`` with both CRF label maps in ``gt_sem_seg``: (2, H, W) int64,
    low-alpha first, so that the data preprocessor pads them together; combined labels
    stay (1, H, W)."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_seg_map_high' in results:
            both = np.stack([results['gt_seg_map'], results['gt_seg_map_high']])
            packed['data_samples'].gt_sem_seg = PixelData(
                data=torch.from_numpy(both.astype(np.int64)))
        return packed
