# AffinityNet (PSA) on a dilated ResNet-50-v1c at output stride 8: PSA's feature head on
# stages 2-4 (512/1024/2048 channels -> 64/128/256 -> 448), affinity exp(-mean L1) of
# grid positions closer than 5 cells. PSA freezes the stem and the first stage and keeps
# BN statistics fixed, which suits small batches of large crops.
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='AffinityNet',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        frozen_stages=1,
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    in_index=(1, 2, 3),
    in_channels=(512, 1024, 2048),
    proj_channels=(64, 128, 256),
    feat_channels=448,
    radius=5,
    stride=8,
    loss=dict(type='AffinityLoss', bg_weight=0.25, fg_weight=0.25, neg_weight=0.5))
