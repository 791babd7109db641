# The toy recipe shrunk to seconds on a CPU for tests that run tools/train.py: a 2-block
# ViT on 48 px images, no random augmentation (the paired view is a deterministic mirror,
# drop path 0), no validation, a checkpoint every epoch. Tests set data_root, the batch
# size and the epochs.
_base_ = '../../configs/acr/vit-tiny_toy.py'
model = dict(
    backbone=dict(drop_path_rate=0.0, timm_kwargs=dict(img_size=48, patch_size=8, depth=2)),
    head=dict(start_layer=1))
train_dataloader = dict(
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='PairedViews', flip=True),
        dict(type='PackClsInputs'),
    ]))
val_dataloader = None
val_cfg = None
val_evaluator = None
custom_hooks = []
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
randomness = dict(seed=0)
train_cfg = dict(max_epochs=1, val_interval=1000)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
