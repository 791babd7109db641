# Runtime of the AffinityNet configs: epoch-based training without validation (the
# affinity is judged by the labels of tools/refine_labels.py), atomic checkpoints.
default_scope = 'mmseg'
custom_imports = dict(imports=['projects.acr'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)
# W&B goes offline by itself without an API key or network; WANDB_MODE=disabled skips it.
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='AutoWandbVisBackend', init_kwargs=dict(project='acr-wsss')),
]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=20)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
