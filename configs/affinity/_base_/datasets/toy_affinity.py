# The toy training images (tools/dataset_converters/make_toy_dataset.py, 96 px) with their
# pseudo labels, for AffinityNet on a CPU. Set the labels with --cfg-options
#   train_dataloader.dataset.label_dir=work_dirs/<exp>/pseudo_labels
data_root = 'data/toy'
crop_size = (96, 96)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadAffinityLabels', on_empty='skip'),
    dict(type='RandomResize', scale=(96, 96), ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackAffinityInputs'),
]
# The images are tiny: worker processes would only compete with the model for the cores.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='AffinityLabelDataset',
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        label_dir='work_dirs/toy_demo/pseudo_labels',
        pipeline=train_pipeline))
