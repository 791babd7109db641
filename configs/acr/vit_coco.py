# ACR on MS COCO 2014: ViT-B/16 at 384 px, flip pair, alpha 125, SGD lr 0.05 (as on VOC)
# with poly decay, trained on train2014, 4 GPUs x batch 1
# (`tools/dist_train.sh configs/acr/vit_coco.py 4`).
# Paper: a ViT-B/16 class-map figure on COCO is not reported in the paper as far as we
# know (its COCO result is for the final segmenter, see vit-r50_coco.py).
# Epochs: 3, our choice. The paper trains COCO for fewer epochs than VOC at a similar lr;
# train2014 (82,783 images) is 7.8x VOC train_aug, so 3 epochs show the model 2.3x as many
# images as VOC's 10 (about 62k iterations at 4 x 1).
_base_ = [
    '../_base_/models/acr_vit.py', '../_base_/datasets/coco_cls.py',
    '../_base_/schedules/sgd_poly_10e.py', '../_base_/default_runtime.py'
]
max_epochs = 3
model = dict(backbone=dict(arch='vit_base_patch16_384'), head=dict(num_classes=80))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
