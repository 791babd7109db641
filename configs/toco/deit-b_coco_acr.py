# ToCo + ACR on COCO: ACR's published COCO alpha 100 as the start point.
_base_ = './deit-b_coco.py'
model = dict(acr_loss=dict(_delete_=True, type='ACRLoss', loss_weight=100.0))
