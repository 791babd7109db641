# DeepLabV2 on a dilated ResNet-50-v1c (output stride 8): ASPP-L, four 3x3 convolutions
# with dilations 6/12/18/24 from the stage-4 features straight to class scores, summed
# (ASPPSumHead, registered by projects.acr). No auxiliary head, as in DeepLabV2.
# The cross entropy averages over labelled pixels only (avg_non_ignore),
# as torch's does; pseudo labels leave many pixels at 255.
_base_ = './deeplabv3plus_r50-d8.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ASPPSumHead',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),
        dropout_ratio=0.0,
        num_classes=21,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)),
    auxiliary_head=None)
