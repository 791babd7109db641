from .load_checked_annotations import LoadCheckedAnnotations
from .load_checked_image import LoadCheckedImageFromFile, decode_image_bgr
from .pack_cls_inputs import PackClsInputs
from .paired_views import PairedViews
from .random_crop_pad import RandomCropPad
from .resize_image_only import ResizeImageOnly

__all__ = [
    'PairedViews', 'PackClsInputs', 'LoadCheckedImageFromFile', 'LoadCheckedAnnotations',
    'decode_image_bgr', 'RandomCropPad', 'ResizeImageOnly'
]
