# DeepLabV3+ R101 (mmseg's DepthwiseSeparableASPPHead) trained on the ACR pseudo labels of
# VOC train_aug with mmseg's 40k recipe, evaluated on VOC val.
# Published reference: no published figure.
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8.py', './_base_/datasets/voc_pseudo.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
