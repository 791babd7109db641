"""From class maps to pseudo labels: the map file format, background scores, dense CRF."""
from .cam_io import CAM_SUFFIX, cam_path, dense_cams, load_cams, save_cams

__all__ = ['CAM_SUFFIX', 'cam_path', 'dense_cams', 'load_cams', 'save_cams']
