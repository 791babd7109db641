"""Packs images, image-level labels and masks for the ACR models."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """Packs ``img`` into a CHW tensor and the rest into a :class:`SegDataSample`.

    ``img`` of shape (H, W, 3) becomes (3, H, W); views (V, H, W, 3) become
    (V, 3, H, W). A loaded ``gt_seg_map`` becomes ``gt_sem_seg``; ``img_labels`` and
    the other ``meta_keys`` go to the metainfo.

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo when present.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_path', 'seg_map_path', 'img_id',
                                             'ori_shape', 'img_shape', 'scale_factor',
                                             'flip', 'flip_direction', 'img_labels',
                                             'view_flip', 'view_affine')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        img = np.ascontiguousarray(np.moveaxis(img, -1, -3))
        packed = dict(inputs=torch.from_numpy(img))
        sample = SegDataSample()
        if 'gt_seg_map' in results:
            seg = results['gt_seg_map'].astype(np.int64)
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(seg)[None])
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
