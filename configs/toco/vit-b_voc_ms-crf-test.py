# ToCo's multi-scale + CRF test of a vit-b_voc.py checkpoint (see deit-b_voc_ms-crf-test.py).
# Published (ToCo README): 71.1 VOC val, 72.2 test (ViT-B).
_base_ = './deit-b_voc_ms-crf-test.py'
model = dict(backbone=dict(arch='vit_base_patch16_224.orig_in21k_ft_in1k'))
