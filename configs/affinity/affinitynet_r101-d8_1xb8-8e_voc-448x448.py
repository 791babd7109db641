# AffinityNet with PSA's published training settings (crop 448, 8 images per step, 8
# epochs, SGD lr 0.1 poly, head lr x10) on a dilated ImageNet ResNet-101-v1c instead of
# PSA's ResNet-38 (see README, "AffinityNet"). Inference settings (tools/refine_labels.py
# defaults): background alpha 16, beta 8, 2^8 steps.
#   python tools/train.py configs/affinity/affinitynet_r101-d8_1xb8-8e_voc-448x448.py \
#       --cfg-options train_dataloader.dataset.label_dir=work_dirs/vit-r50_voc/pseudo_labels
#   tools/dist_train.sh configs/affinity/affinitynet_r101-d8_1xb8-8e_voc-448x448.py 4 \
#       --auto-scale-lr --cfg-options train_dataloader.batch_size=2
_base_ = [
    './_base_/models/affinitynet_r50-d8.py', './_base_/datasets/voc_affinity.py',
    './_base_/default_runtime.py', './_base_/schedules/sgd_poly_8e.py'
]
model = dict(
    data_preprocessor=dict(size=(448, 448)),
    backbone=dict(depth=101,
                  init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
