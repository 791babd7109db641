# PSA's AffinityNet schedule: plain SGD (no momentum) lr 0.1, weight decay 5e-4, poly
# decay (power 0.9) over 8 epochs; the new head layers learn 10x faster, biases 2x
# without weight decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}, bias_lr_mult=2.0,
                       bias_decay_mult=0.0),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=8, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8)
val_cfg = None
val_dataloader = None
val_evaluator = None
# PSA trained with 8 images per step; --auto-scale-lr rescales lr for other totals.
auto_scale_lr = dict(enable=False, base_batch_size=8)
