# SegFormer MiT-B5 trained on the ACR pseudo labels of VOC train_aug (as the B2 config,
# deeper encoder), evaluated on VOC val.
# Published reference: no published figure.
_base_ = './segformer_mit-b2_8xb2-40k_voc-pseudo-512x512.py'
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth'  # noqa
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint), num_layers=[3, 6, 40, 3]))
