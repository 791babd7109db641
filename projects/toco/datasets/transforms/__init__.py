from .toco_views import ToCoViews

__all__ = ['ToCoViews']
