# The synthetic toy dataset (tools/dataset_converters/make_toy_dataset.py, 96 px, background
# + 5 classes) for stage 2: train images with stage-1 pseudo labels, evaluated on the real val
# masks.
# The pseudo-label directory is taken from the working directory (not data_root):
#   --cfg-options train_dataloader.dataset.pseudo_label_dir=work_dirs/<exp>/pseudo_labels
dataset_type = 'BaseSegDataset'
data_root = 'data/toy'
crop_size = (96, 96)
toy_metainfo = dict(
    classes=('background', 'ladybird', 'tiger', 'chessboard', 'leaf', 'target'),
    palette=[[0, 0, 0], [205, 25, 30], [245, 135, 15], [30, 70, 215], [35, 150, 45],
             [200, 30, 190]])

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations'),
    dict(type='RandomResize', scale=(384, 96), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=(384, 96), keep_ratio=True),
    dict(type='LoadCheckedAnnotations'),
    dict(type='PackSegInputs'),
]
img_ratios = [0.75, 1.0, 1.25]
tta_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadCheckedAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]

# The images are tiny: worker processes would only compete with the model for the cores.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PseudoLabelSegDataset',
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pseudo_label_dir='work_dirs/toy_demo/pseudo_labels',
        metainfo=toy_metainfo,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/val.txt',
        img_suffix='.jpg',
        seg_map_suffix='.png',
        metainfo=toy_metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
