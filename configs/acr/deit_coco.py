# ACR on MS COCO 2014 with DeiT-B/16 at 384 px; everything else as vit_coco.py.
# Paper: a DeiT-B figure on COCO is not reported in the paper as far as we know.
_base_ = './vit_coco.py'
model = dict(backbone=dict(arch='deit_base_patch16_384.fb_in1k'))
