# VOC train_aug images with the CRF labels of the class maps, for AffinityNet. PSA's
# augmentation: long side resized at random to 448-768 px, colour jitter, random 448 crop
# (padded with 'unknown' labels when smaller) and horizontal flip.
# The labels: the combined pseudo labels of tools/make_pseudo_labels.py (label_dir), or
# the two CRF maps (low_label_dir / high_label_dir); set them with --cfg-options, e.g.
#   train_dataloader.dataset.label_dir=work_dirs/vit-r50_voc/pseudo_labels
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (448, 448)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadAffinityLabels', on_empty='skip'),
    dict(type='RandomResize', scale=(768, 768), ratio_range=(448 / 768, 1.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.7, 1.3),
         saturation_range=(0.7, 1.3), hue_delta=18),
    dict(type='PackAffinityInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='AffinityLabelDataset',
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        label_dir='work_dirs/vit-r50_voc/pseudo_labels',
        pipeline=train_pipeline))
