# ACR, published setting on PASCAL VOC 2012: ViT-B/16 at 384 px, flip pair, alpha 125,
# SGD lr 0.05 with poly decay, 10 epochs on train_aug, 4 GPUs x batch 1
# (`tools/dist_train.sh configs/acr/vit_voc.py 4`).
# Paper: the published class-map figure (67.3% mIoU on VOC train) is for the hybrid
# backbone (vit-r50_voc.py); a ViT-B/16 figure is not reported in the paper as far as we
# know.
_base_ = [
    '../_base_/models/acr_vit.py', '../_base_/datasets/voc_cls.py',
    '../_base_/schedules/sgd_poly_10e.py', '../_base_/default_runtime.py'
]
model = dict(backbone=dict(arch='vit_base_patch16_384.orig_in21k_ft_in1k'))
