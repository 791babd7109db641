from .attention_vit import AttentionRecorder, AttentionViT, ViTOutput

__all__ = ['AttentionViT', 'AttentionRecorder', 'ViTOutput']
