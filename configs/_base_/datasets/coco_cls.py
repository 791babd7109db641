# MS COCO 2014 with VOC-style class masks (tree in COCOClsDataset's docstring), image-level
# labels from the masks. Train on train2014 (82,783 images) with the VOC augmentation and
# two views (the second mirrored).
dataset_type = 'COCOClsDataset'
data_root = 'data/coco'
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
        split='train',
        ann_file='ImageSets/train.txt',
        pipeline=train_pipeline))
# Class maps are scored on train2014, the images pseudo labels are made for. Scoring all
# 82,783 every epoch would cost more than an epoch of training, so validation uses the
# first 5,000 images of the list and the test loop (tools/test.py) the whole split. For
# val2014: --cfg-options test_dataloader.dataset.split=val
# test_dataloader.dataset.ann_file=ImageSets/val.txt
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        ann_file='ImageSets/train.txt',
        indices=5000,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        ann_file='ImageSets/train.txt',
        pipeline=test_pipeline))

# Class names come from the dataset's metainfo (background + the 80 COCO categories).
val_evaluator = dict(type='CAMMetric')
test_evaluator = val_evaluator
