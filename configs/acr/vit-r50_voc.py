# ACR with the hybrid R50+ViT-B/16 backbone, the paper's main VOC setting.
# Paper: class maps 67.3% mIoU on VOC train (flip TTA, affinity refinement).
_base_ = './vit_voc.py'
# timm 0.4.5 called this backbone vit_base_resnet50_384; its default weights are the
# original ImageNet-21k -> 1k ones, timm 1.0's tag orig_in21k_ft_in1k.
model = dict(backbone=dict(arch='vit_base_r50_s16_384.orig_in21k_ft_in1k'))
