# ACR with the hybrid R50+ViT-B/16 backbone, the paper's main VOC setting.
# Paper: class maps 67.3% mIoU on VOC train (flip TTA, affinity refinement).
_base_ = './vit_voc.py'
model = dict(backbone=dict(arch='vit_base_r50_s16_384'))
