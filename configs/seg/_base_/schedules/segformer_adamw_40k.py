# SegFormer's optimisation as in mmseg's segformer configs, over 40k iterations: AdamW
# (lr 6e-5, weight decay 0.01, none on norms and positional blocks, 10x lr on the head),
# linear warm-up over 1.5k iterations, then linear (poly, power 1) decay to 0.
_base_ = './schedule_40k.py'
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'head': dict(lr_mult=10.)
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=40000, by_epoch=False),
]
