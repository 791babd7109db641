# ACR on PASCAL VOC 2012 with DeiT-B/16 at 384 px; everything else as vit_voc.py.
# Paper: a DeiT-B class-map figure is not reported in the paper as far as we know (the
# published 67.3% mIoU on VOC train is for the hybrid backbone, vit-r50_voc.py).
_base_ = './vit_voc.py'
model = dict(backbone=dict(arch='deit_base_patch16_384.fb_in1k'))
