# ToCo (Ru et al., CVPR 2023) as its code trains on VOC (scripts/dist_train_voc_seg_neg.py,
# the published logs); docs/toco.md lists every number with its source. The published
# backbones are timm's DeiT-B/16 (deit_base_patch16_224.fb_in1k) and the original ViT-B/16
# (vit_base_patch16_224.orig_in21k_ft_in1k, ToCo's jx_vit_base_p16_224 weights), both at
# their 224 px position grid, resized to each input.
model = dict(
    type='ToCo',
    num_classes=20,
    data_preprocessor=dict(
        type='MultiViewDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet statistics, as ToCo's Normalize
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size_divisor=16),
    backbone=dict(
        type='ToCoViT',
        arch='deit_base_patch16_224.fb_in1k',
        pretrained=True,  # offline: set checkpoint='/path/to/weights' instead
        checkpoint=None,
        aux_layer=-3,  # --aux_layer -3 (VOC); COCO: 9
        drop_path_rate=0.0),
    decoder=dict(type='LargeFOVHead', channels=512, dilation=5),
    proj_head=dict(type='ProjectionHead', out_dim=1024, num_layers=3, hidden_dim=2048,
                   bottleneck_dim=256, norm_last_layer=True),
    ema_momentum=0.9,  # --momentum
    par=dict(type='PixelAdaptiveRefiner', dilations=(1, 2, 4, 8, 12, 24), num_iter=10),
    ptc_loss=dict(type='PatchTokenContrastLoss', loss_weight=0.2),  # --w_ptc
    ctc_loss=dict(type='ClassTokenContrastLoss', temperature=0.5, loss_weight=0.5),
    seg_loss=dict(type='BackgroundForegroundCELoss', loss_weight=0.1),  # --w_seg
    # rloss's DenseEnergyLoss(weight=1e-7, sigma_rgb=15, sigma_xy=100, scale_factor=0.5)
    # times --w_reg 0.05; exact dense Gaussian in torch instead of rloss's lattice.
    energy_loss=dict(type='DenseEnergyLoss', loss_weight=1e-7 * 0.05, sigma_rgb=15.0,
                     sigma_xy=100.0, scale_factor=0.5),
    acr_loss=None,  # configs/toco/*_acr.py switch it on
    train_cfg=dict(
        cam_scales=(1.0, 0.5, 1.5), bkg_thr=0.5, high_thr=0.7, low_thr=0.25,
        num_local_crops=8, local_crop_size=96, neg_ratio=0.2, par_down_scale=2,
        stages=[
            dict(begin=0, ptc=1.0, ctc=1.0, seg=0.0, energy=0.0, seg_cams='cam'),
            # ``if n_iter <= 2000``: segmentation and energy from iteration 2,001 on.
            dict(begin=2001, ptc=1.0, ctc=1.0, seg=1.0, energy=1.0, seg_cams='cam'),
        ]),
    # Validation as ToCo's validate(): the image resized to the crop, maps at scales
    # (1, 0.5, 1.5) + flip, the decoder at one scale. Its test (tools/infer_seg_voc.py,
    # multi-scale + flip + CRF): configs/toco/*_ms-crf-test.py.
    test_cfg=dict(cam_scales=(1.0, 0.5, 1.5), seg_scales=(1.0, ), seg_flip=False, crf=None))
