from .pack_cls_inputs import PackClsInputs
from .paired_views import PairedViews

__all__ = ['PairedViews', 'PackClsInputs']
