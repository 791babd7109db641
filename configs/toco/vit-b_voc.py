# ToCo on PASCAL VOC 2012 with the original ViT-B/16 (ToCo's jx_vit_base_p16_224 weights);
# everything else as deit-b_voc.py.
# Published (ToCo README): 69.2 val single scale; 71.1 val / 72.2 test with MS + CRF.
_base_ = './deit-b_voc.py'
model = dict(backbone=dict(arch='vit_base_patch16_224.orig_in21k_ft_in1k'))
