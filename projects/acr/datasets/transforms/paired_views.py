"""Two views of one image for consistency training."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PairedViews(BaseTransform):
    """Makes a second view of the (already augmented and cropped) image.

    The second view is the horizontal mirror of the first, the pair used by ACR. Since
    both views share one canvas, the map between them is known exactly: token ``i`` of
    view one matches the mirrored token of view two. That map is recorded as
    ``view_flip`` so the model can build the token index for any patch grid.

    Required keys: ``img`` (H, W, 3).
    Modified keys: ``img`` becomes (2, H, W, 3).
    Added keys: ``view_flip`` (bool).

    Args:
        flip (bool): Mirror the second view. With False the views are identical (a
            control for ablations).
    """

    def __init__(self, flip: bool = True) -> None:
        self.flip = flip

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        if img.ndim != 3:
            raise ValueError(f'PairedViews expects one (H, W, C) image, got shape '
                             f'{img.shape} for {results.get("img_path")}')
        second = img[:, ::-1] if self.flip else img
        results['img'] = np.stack([img, second])
        results['view_flip'] = self.flip
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(flip={self.flip})'
