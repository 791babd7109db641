# DeepLabV2-R101 (ASPP-L with summed branches, dilations 6/12/18/24) trained on the ACR
# pseudo labels of VOC train_aug, evaluated on VOC val.
# Published reference: 70.9% mIoU on VOC test with DeepLabV2-R101 on ACR pseudo labels
# (arXiv 2308.04321). The published runs follow DeepLabV2's own recipe (321 px crops,
# batch 10, 20k iterations, frozen BN, MSC training); this config trains with mmseg's 40k
# schedule instead, like the other stage-2 configs, so expect a different number.
#   tools/dist_train.sh configs/seg/deeplabv2_r101-d8_4xb4-40k_voc-pseudo-512x512.py 4 \
#       --cfg-options train_dataloader.dataset.pseudo_label_dir=work_dirs/<exp>/pseudo_labels
_base_ = [
    './_base_/models/deeplabv2_r50-d8.py', './_base_/datasets/voc_pseudo.py',
    './_base_/default_runtime.py', './_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=21))
