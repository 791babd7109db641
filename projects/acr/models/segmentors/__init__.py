from .crf_seg_tta_model import DEEPLAB_CRF, CRFSegTTAModel

__all__ = ['CRFSegTTAModel', 'DEEPLAB_CRF']
