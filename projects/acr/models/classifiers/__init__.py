from .acr_classifier import ACRClassifier, normalize_cams

__all__ = ['ACRClassifier', 'normalize_cams']
