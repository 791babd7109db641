# Pretraining of the toy ViT, the toy's stand-in for ImageNet weights: the same tiny ViT
# as configs/acr/vit-tiny_toy.py trained as a plain multi-label classifier (one view, no
# ACR) on a larger generated corpus whose images are disjoint from the toy train/val
# images (another generator seed; only its image-level labels are used).
#
#   python tools/misc/pretrain_toy.py      # corpus, this training, and the exported weights
#
# The exported backbone file is loaded as a user loads ImageNet weights:
#   --cfg-options model.backbone.checkpoint=work_dirs/toy_pretrain/vit-tiny_toy-pretrained.pth
_base_ = ['../acr/vit-tiny_toy.py']

data_root = 'data/toy_pretrain'
crop_size = (96, 96)
pad_bgr = (103.53, 116.28, 123.675)
model = dict(acr_loss=dict(loss_weight=0.0))
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=[
            dict(type='LoadCheckedImageFromFile', on_error='skip'),
            dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.14),
                 keep_ratio=True),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='RandomCropPad', crop_size=crop_size, pad_val=pad_bgr),
            dict(type='PackClsInputs'),
        ]))
max_epochs = 3
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=1, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, begin=1, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
# No mask is looked at: validation never runs (the interval is past the last epoch; the
# inherited val/test settings only keep the config complete) and no map-quality hook.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=max_epochs))
