# ToCo + ACR on the toy data: vit-tiny_toy.py with ACR between the two global views.
_base_ = './vit-tiny_toy.py'
model = dict(acr_loss=dict(_delete_=True, type='ACRLoss', loss_weight=125.0))
