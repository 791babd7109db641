# mmseg's 80k-iteration SGD schedule (_base_/schedules/schedule_80k.py).
_base_ = './schedule_40k.py'
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=80000, by_epoch=False)
]
train_cfg = dict(max_iters=80000, val_interval=8000)
