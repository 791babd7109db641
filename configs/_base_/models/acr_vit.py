# ACR classifier on a ViT, with the settings the official ACR code ran (train_acr.sh,
# infer_cam.py); the README's fidelity table lists each one. The published backbones
# (timm names with the weight tag of timm 0.4.5's defaults, which the official code
# loaded): vit_base_r50_s16_384.orig_in21k_ft_in1k (hybrid R50+ViT-B/16),
# vit_base_patch16_384.orig_in21k_ft_in1k, deit_base_patch16_384.fb_in1k.
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
        arch='vit_base_patch16_384.orig_in21k_ft_in1k',
        pretrained=True,  # offline: set checkpoint='/path/to/weights' instead
        checkpoint=None,
        final_norm=False,  # classifier on the pre-norm class token, as published
        drop_path_rate=0.0),  # the official ViT has no stochastic depth
    # Maps as train_acr.sh makes them: --getam_func grad --start_layer 10.
    head=dict(type='CAMHead', num_classes=20, start_layer=10, getam_mode='grad'),
    acr_loss=dict(type='ACRLoss', loss_weight=125.0),  # --alpha 125
    # --aff True (affinity refinement), the image and its mirror, maps upsampled from the
    # token grid to the image with align_corners=True (the test pipeline resizes every
    # image to the crop size first), min-max normalised with the official 1e-6.
    test_cfg=dict(scales=(1.0, ), flip=True, refine=True, use_gt_labels=True,
                  align_corners=True, norm_eps=1e-6))
