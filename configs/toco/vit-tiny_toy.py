# ToCo on the synthetic toy dataset (tools/dataset_converters/make_toy_dataset.py), on CPU: a
# tiny ViT with 8 px patches trained from scratch on 96 px images. ToCo's pieces and its staged
# objective as published; sizes scaled to the images (local crops 32 px for 96 px crops), a shorter
# schedule (600 iterations of 8 images, about 35 minutes on one CPU thread) and a
# from-scratch learning rate (no pretrained encoder to protect, so one rate for every part).
_base_ = './deit-b_voc.py'
model = dict(
    num_classes=5,
    data_preprocessor=dict(size_divisor=8),
    backbone=dict(arch='vit_tiny_patch16_224', pretrained=False, aux_layer=-3,
                  timm_kwargs=dict(img_size=96, patch_size=8, depth=6)),
    decoder=dict(channels=64),
    proj_head=dict(out_dim=256, hidden_dim=256, bottleneck_dim=64),
    train_cfg=dict(
        local_crop_size=32,
        stages=[
            dict(begin=0, ptc=1.0, ctc=1.0, seg=0.0, energy=0.0, seg_cams='cam'),
            dict(begin=201, ptc=1.0, ctc=1.0, seg=1.0, energy=1.0, seg_cams='cam'),
        ]))
dataset_type = 'ToyClsDataset'
data_root = 'data/toy'
crop_size = 96
train_pipeline = [
    dict(type='LoadCheckedImageFromFile', on_error='skip'),
    dict(type='ToCoViews', crop_size=crop_size, rescale_range=(0.5, 2.0),
         global_scale=(0.4, 1.0)),
    dict(type='PackClsInputs',
         meta_keys=('img_path', 'img_id', 'ori_shape', 'img_shape', 'img_labels', 'img_box',
                    'view_affine')),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations'),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 600
optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys={
        'classifier': dict(lr_mult=1.0),
        'proj_head': dict(lr_mult=1.0),
        'decoder': dict(lr_mult=1.0),
    }),
    clip_grad=dict(_delete_=True, max_norm=5.0))
param_scheduler = [
    dict(type='PolyWarmupLR', warmup_iters=50, warmup_ratio=1e-2, max_iters=max_iters,
         power=0.9, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=300)
log_processor = dict(window_size=20)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=300))
auto_scale_lr = dict(enable=False, base_batch_size=8)
