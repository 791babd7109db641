# The synthetic toy dataset (tools/dataset_converters/make_toy_dataset.py): 96 px images, 5 classes.
dataset_type = 'ToyClsDataset'
data_root = 'data/toy'
crop_size = (96, 96)
pad_bgr = (103.53, 116.28, 123.675)  # the mean: 0 after normalisation

# Training skips unreadable images with a warning naming them (another image is drawn);
# evaluation raises instead, since skipping would change the metric.
train_pipeline = [
    dict(type='LoadCheckedImageFromFile', on_error='skip'),
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
    dict(type='PackClsInputs'),
]

# The images are tiny: worker processes would only compete with the model for the cores.
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='CAMMetric')
test_evaluator = val_evaluator
