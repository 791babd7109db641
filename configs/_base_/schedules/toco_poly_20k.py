# ToCo's optimiser (utils/optimizer.py PolyWarmupAdamW): AdamW lr 6e-5, weight decay 0.01
# on every parameter, betas (0.9, 0.999), eps 1e-8; the classifiers, the projection head
# and the decoder at 10x the rate; linear warm-up over 1,500 iterations from 1e-6 of the
# rate, then poly decay (power 0.9) counted from iteration 0; 20,000 iterations.
max_iters = 20000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'classifier': dict(lr_mult=10.0),  # classifier and aux_classifier
        'proj_head': dict(lr_mult=10.0),  # the teacher copy gets no gradients
        'decoder': dict(lr_mult=10.0),
    }),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyWarmupLR', warmup_iters=1500, warmup_ratio=1e-6, max_iters=max_iters,
         power=0.9, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# ToCo wraps its model with find_unused_parameters=True.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
# Published: 2 GPUs x 2 images; --auto-scale-lr rescales the rate for other batches.
auto_scale_lr = dict(enable=False, base_batch_size=4)
