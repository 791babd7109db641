"""From class maps to pseudo labels: the map file format, background scores, dense CRF,
and the resumable, sharded job over an image list."""
from .background import (BG_MODES, background_score, background_stack, labels_from_stack,
                         power_background, score_stack, threshold_background)
from .cam_io import CAM_SUFFIX, cam_path, dense_cams, load_cams, save_cams
from .crf import DenseCRF
from .label_images import (DEFAULT_ANN_FILE, DEFAULT_IMG_DIR, DEFAULT_IMG_SUFFIX, LabelImages,
                           images_from_config, images_from_tree, train_dataset_cfg)
from .label_writer import PseudoLabelWriter, save_label_png
from .pseudo_label_generator import (DEFAULT_ALPHA_HIGH, DEFAULT_ALPHA_LOW, PseudoLabelGenerator,
                                     make_pseudo_label)
from .pseudo_label_job import PseudoLabelJob, PseudoLabelSummary, default_chunksize

__all__ = [
    'CAM_SUFFIX', 'cam_path', 'dense_cams', 'load_cams', 'save_cams', 'BG_MODES',
    'background_score', 'background_stack', 'labels_from_stack', 'power_background',
    'score_stack', 'threshold_background', 'DenseCRF', 'PseudoLabelGenerator',
    'make_pseudo_label', 'DEFAULT_ALPHA_LOW', 'DEFAULT_ALPHA_HIGH', 'PseudoLabelWriter',
    'save_label_png', 'LabelImages', 'images_from_config', 'images_from_tree',
    'train_dataset_cfg', 'DEFAULT_ANN_FILE', 'DEFAULT_IMG_DIR', 'DEFAULT_IMG_SUFFIX',
    'PseudoLabelJob', 'PseudoLabelSummary', 'default_chunksize'
]
