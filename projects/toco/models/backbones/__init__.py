from .toco_vit import ToCoViT, ToCoViTOutput

__all__ = ['ToCoViT', 'ToCoViTOutput']
