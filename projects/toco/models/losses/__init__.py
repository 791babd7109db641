from .bg_fg_seg_loss import BackgroundForegroundCELoss
from .class_token_contrast_loss import ClassTokenContrastLoss
from .dense_energy_loss import DenseEnergyLoss, bilateral_features, dense_gaussian_filter
from .patch_token_contrast_loss import PatchTokenContrastLoss

__all__ = [
    'BackgroundForegroundCELoss', 'ClassTokenContrastLoss', 'DenseEnergyLoss',
    'PatchTokenContrastLoss', 'bilateral_features', 'dense_gaussian_filter'
]
