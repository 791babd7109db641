# PASCAL VOC 2012 train_aug for ToCo: ToCo's augmentation and views (ToCoViews), validation
# on VOC val at the crop size. 2 images per GPU on 2 GPUs, as published.
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = 448
train_pipeline = [
    dict(type='LoadCheckedImageFromFile', on_error='skip'),
    dict(type='ToCoViews', crop_size=crop_size, rescale_range=(0.5, 2.0),
         global_scale=(0.4, 1.0)),
    dict(type='PackClsInputs',
         meta_keys=('img_path', 'img_id', 'ori_shape', 'img_shape', 'img_labels', 'img_box',
                    'view_affine')),
]
# ToCo's validate() resizes every image to the crop size (F.interpolate of the normalised
# tensor; here the image, before normalisation) and the outputs back to the mask.
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations'),
    dict(type='ResizeImageOnly', scale=(crop_size, crop_size)),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=2,  # --spg 2
    num_workers=10,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='ImageSets/Segmentation/train_aug.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='ImageSets/Segmentation/val.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
# ToCo reports the class maps at its background threshold (0.5) and the decoder's mIoU.
val_evaluator = [dict(type='CAMMetric', fixed_threshold=0.5), dict(type='IoUMetric')]
test_evaluator = val_evaluator
