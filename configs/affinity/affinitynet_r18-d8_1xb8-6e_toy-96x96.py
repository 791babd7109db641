# Toy AffinityNet: a dilated half-width ResNet-18 trained from scratch on the toy pseudo
# labels, trainable BN (no ImageNet statistics to keep). 75 steps per epoch on the 600 toy
# images; a step took about 4.5 s on a busy 2-core CPU (the README's toy figures used 3
# epochs: train_cfg.max_epochs=3 param_scheduler.0.end=3).
#   python tools/train.py configs/affinity/affinitynet_r18-d8_1xb8-6e_toy-96x96.py \
#       --cfg-options train_dataloader.dataset.label_dir=work_dirs/<exp>/pseudo_labels
_base_ = [
    './_base_/models/affinitynet_r50-d8.py', './_base_/datasets/toy_affinity.py',
    './_base_/default_runtime.py', './_base_/schedules/sgd_poly_8e.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=(96, 96)),
    # Half the usual ResNet-18 widths (stem 32, stages 32..256), as the toy DeepLabV2.
    backbone=dict(depth=18, stem_channels=32, base_channels=32, frozen_stages=-1,
                  norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    in_channels=(64, 128, 256),
    proj_channels=(32, 64, 128),
    feat_channels=224)
max_epochs = 6
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=1.0)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
