"""From class maps to pseudo labels: the map file format, background scores, dense CRF."""
from .background import (BG_MODES, background_score, background_stack, labels_from_stack,
                         power_background, score_stack, threshold_background)
from .cam_io import CAM_SUFFIX, cam_path, dense_cams, load_cams, save_cams
from .crf import DenseCRF
from .label_writer import PseudoLabelWriter, save_label_png
from .pseudo_label_generator import (DEFAULT_ALPHA_HIGH, DEFAULT_ALPHA_LOW, PseudoLabelGenerator,
                                     make_pseudo_label)

__all__ = [
    'CAM_SUFFIX', 'cam_path', 'dense_cams', 'load_cams', 'save_cams', 'BG_MODES',
    'background_score', 'background_stack', 'labels_from_stack', 'power_background',
    'score_stack', 'threshold_background', 'DenseCRF', 'PseudoLabelGenerator',
    'make_pseudo_label', 'DEFAULT_ALPHA_LOW', 'DEFAULT_ALPHA_HIGH', 'PseudoLabelWriter',
    'save_label_png'
]
