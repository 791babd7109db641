from .cam_labels import (box_mask, cam_to_label, cam_to_roi_mask, label_to_aff_mask,
                         refine_cams_with_background, valid_cams)
from .par import PixelAdaptiveRefiner, dilated_neighbours

__all__ = [
    'PixelAdaptiveRefiner', 'dilated_neighbours', 'box_mask', 'cam_to_label',
    'cam_to_roi_mask', 'label_to_aff_mask', 'refine_cams_with_background', 'valid_cams'
]
from .local_crops import crops_from_roi  # noqa: E402

__all__ += ['crops_from_roi']
