from . import transforms  # noqa: F401  (registers the data transforms)
from .transforms import ToCoViews

__all__ = ['ToCoViews']
