# PASCAL VOC 2012 for stage 2: the train_aug images (10,582) with stage-1 pseudo labels,
# evaluated with mmseg's IoUMetric on the real val masks (1,449, SegmentationClassAug).
# Pipelines and test-time augmentation as in mmseg's _base_/datasets/pascal_voc12_aug.py.
# The pseudo labels are read in place, one <img_id>.png per image; the directory is taken
# from the working directory (not data_root). Point it elsewhere with
#   --cfg-options train_dataloader.dataset.pseudo_label_dir=work_dirs/<exp>/pseudo_labels
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (512, 512)
voc_metainfo = dict(
    classes=('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
             'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
             'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'),
    palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128],
             [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0],
             [192, 128, 0], [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128],
             [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128]])

train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    # mmseg's LoadAnnotations with errors naming the label file (missing, corrupt, or of
    # another size than its image).
    dict(type='LoadCheckedAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    # After Resize: the metric compares predictions, resized back, with the original mask.
    dict(type='LoadCheckedAnnotations'),
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
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

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PseudoLabelSegDataset',
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pseudo_label_dir='work_dirs/vit_voc/pseudo_labels',
        metainfo=voc_metainfo,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
