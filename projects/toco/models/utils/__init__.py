from .cam_labels import (box_mask, cam_to_label, cam_to_roi_mask, label_to_aff_mask,
                         refine_cams_with_background, valid_cams)
from .par import PixelAdaptiveRefiner, dilated_neighbours

__all__ = [
    'PixelAdaptiveRefiner', 'dilated_neighbours', 'box_mask', 'cam_to_label',
    'cam_to_roi_mask', 'label_to_aff_mask', 'refine_cams_with_background', 'valid_cams'
]
