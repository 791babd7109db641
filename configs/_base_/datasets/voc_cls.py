# PASCAL VOC 2012 with SBD masks (train_aug, 10,582 images), image-level labels from the
# masks. Train: the published augmentation, then two views (the second mirrored).
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (384, 384)
# BGR order (images are loaded as BGR); the mean is 0 after normalisation, the official
# padding value.
pad_bgr = (103.53, 116.28, 123.675)

# Training skips unreadable images with a warning naming them (another image is drawn);
# evaluation raises instead, since skipping would change the metric.
train_pipeline = [
    dict(type='LoadCheckedImageFromFile', on_error='skip'),
    # The long side to 0.9-1.14 x crop (official: a random integer in [345, 438] at 384).
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.14), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # As the official crop: a random window, or a random offset in a mean-filled canvas
    # along an axis where the image is shorter than the crop.
    dict(type='RandomCropPad', crop_size=crop_size, pad_val=pad_bgr),
    dict(type='PairedViews', flip=True),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations'),  # checks the mask exists and matches the image
    # The official inference runs the ViT on the image resized to the crop size, on the
    # token grid of training; the mask keeps the original size (model.test_cfg
    # align_corners=True upsamples the maps to it). Remove it to map at the native size
    # (then set model.test_cfg.align_corners=False).
    dict(type='ResizeImageOnly', scale=crop_size),
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
