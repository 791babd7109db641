# Toy stage 2 (CPU, a few minutes): DeepLabV2 (summed ASPP branches) on a dilated
# ResNet-18 trained from scratch on the toy pseudo labels, evaluated on the real toy masks.
# Published reference: none (synthetic data). Plain BN: a single CPU process has no
# process group for SyncBN. The ASPP dilations are scaled to the 12x12 feature maps of
# 96 px crops (DeepLabV2's 6..24 suit 41-64 px maps).
#   python tools/train.py configs/seg/deeplabv2_r18-d8_1xb8-1k_toy-pseudo-96x96.py \
#       --cfg-options train_dataloader.dataset.pseudo_label_dir=work_dirs/<exp>/pseudo_labels
_base_ = [
    './_base_/models/deeplabv2_r50-d8.py', './_base_/datasets/toy_pseudo.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_40k.py'
]
crop_size = (96, 96)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    # Half the usual ResNet-18 widths (stem 32, stages 32..256): 4x fewer FLOPs.
    backbone=dict(depth=18, stem_channels=32, base_channels=32, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=256, dilations=(2, 4, 6, 8), num_classes=6))

max_iters = 1000
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=30, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
