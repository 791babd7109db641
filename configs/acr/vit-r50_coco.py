# ACR on MS COCO 2014 with the hybrid R50+ViT-B/16 backbone (the paper's main backbone);
# everything else as vit_coco.py.
# Paper: 45.0% mIoU on COCO val2014 for the final stage-2 segmenter (DeepLabV2-R101
# trained on the pseudo labels); a class-map figure on COCO is not reported in the paper
# as far as we know.
_base_ = './vit_coco.py'
model = dict(backbone=dict(arch='vit_base_r50_s16_384.orig_in21k_ft_in1k'))
