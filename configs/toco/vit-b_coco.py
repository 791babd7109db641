# ToCo on MS COCO 2014 with the original ViT-B/16; everything else as deit-b_coco.py.
# Published (ToCo README): 42.2 val with MS + CRF.
_base_ = './deit-b_coco.py'
model = dict(backbone=dict(arch='vit_base_patch16_224.orig_in21k_ft_in1k'))
