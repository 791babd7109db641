# ACR classifier on a ViT. The published backbones (timm names): vit_base_r50_s16_384
# (hybrid R50+ViT-B/16), vit_base_patch16_384, deit_base_patch16_384.
model = dict(
    type='ACRClassifier',
    data_preprocessor=dict(
        type='MultiViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet statistics, as published
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size_divisor=16),
    backbone=dict(
        type='AttentionViT',
        arch='vit_base_patch16_384',
        pretrained=True,  # offline: set checkpoint='/path/to/weights' instead
        checkpoint=None,
        final_norm=False,  # classifier on the pre-norm class token, as published
        drop_path_rate=0.1),
    head=dict(type='CAMHead', num_classes=20, start_layer=10, getam_mode='grad_attn'),
    acr_loss=dict(type='ACRLoss', loss_weight=125.0),
    test_cfg=dict(scales=(1.0, ), flip=True, refine=True, use_gt_labels=True))
