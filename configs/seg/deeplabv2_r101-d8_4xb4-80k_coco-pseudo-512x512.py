# DeepLabV2-R101 (ASPP-L with summed branches, dilations 6/12/18/24) trained on the ACR
# pseudo labels of COCO train2014, evaluated on COCO val2014 (80 classes + background).
# Published reference: 45.0% mIoU on COCO val with DeepLabV2-R101 on ACR pseudo labels
# (arXiv 2308.04321), trained with DeepLabV2's own recipe; this config uses mmseg's 80k
# schedule, like the other stage-2 configs, so expect a different number.
_base_ = [
    './_base_/models/deeplabv2_r50-d8.py', './_base_/datasets/coco_pseudo.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=81))
