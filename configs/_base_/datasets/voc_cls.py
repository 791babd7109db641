# PASCAL VOC 2012 with SBD masks (train_aug, 10,582 images), image-level labels from the
# masks. Train: the published augmentation, then two views (the second mirrored).
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (384, 384)
# BGR order (images are loaded as BGR); padding with the mean makes it ~0 after
# normalisation.
pad_bgr = (103.53, 116.28, 123.675)

# Training skips unreadable images with a warning naming them (another image is drawn);
# evaluation raises instead, since skipping would change the metric.
train_pipeline = [
    dict(type='LoadCheckedImageFromFile', on_error='skip'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.14), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='Pad', size=crop_size, pad_val=dict(img=pad_bgr, seg=255)),
    dict(type='PairedViews', flip=True),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations'),  # checks the mask exists and matches the image
    dict(type='PackClsInputs'),
]

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))
# Class maps are evaluated on VOC train (1,464 images with masks), as in the paper.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='CAMMetric')
test_evaluator = val_evaluator
