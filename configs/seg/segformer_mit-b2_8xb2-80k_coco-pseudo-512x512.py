# SegFormer MiT-B2 trained on the ACR pseudo labels of COCO train2014 with mmseg's
# SegFormer optimisation (AdamW, 8 GPUs x 2 images) over 80k iterations, evaluated on
# COCO val2014.
# Published reference: no published figure.
_base_ = [
    './_base_/models/segformer_mit-b0.py', './_base_/datasets/coco_pseudo.py',
    './_base_/default_runtime.py', './_base_/schedules/segformer_adamw_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b2_20220624-66e8bf70.pth'  # noqa
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint),
        embed_dims=64,
        num_heads=[1, 2, 5, 8],
        num_layers=[3, 4, 6, 3]),
    decode_head=dict(in_channels=[64, 128, 320, 512], num_classes=81))
train_dataloader = dict(batch_size=2, num_workers=2)
