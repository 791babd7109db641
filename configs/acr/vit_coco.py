# ACR on MS COCO 2014 as the official train_acr_coco.sh runs it: ViT-B/16 at 384 px, flip
# pair, alpha 100 (train_acr_coco.py's default, which the script leaves), SGD lr 0.05 with
# poly decay, 5 epochs on train2014, 4 GPUs x batch 1
# (`tools/dist_train.sh configs/acr/vit_coco.py 4`).
# Paper: a ViT-B/16 class-map figure on COCO is not reported in the paper as far as we
# know (its COCO result is for the final segmenter, see vit-r50_coco.py).
_base_ = [
    '../_base_/models/acr_vit.py', '../_base_/datasets/coco_cls.py',
    '../_base_/schedules/sgd_poly_10e.py', '../_base_/default_runtime.py'
]
max_epochs = 5
model = dict(
    backbone=dict(arch='vit_base_patch16_384.orig_in21k_ft_in1k'),
    head=dict(num_classes=80),
    acr_loss=dict(loss_weight=100.0))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
