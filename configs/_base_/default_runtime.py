# Runtime shared by every stage-1 config.
default_scope = 'mmseg'
custom_imports = dict(imports=['projects.acr'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)

# W&B goes offline by itself without an API key or network (runs land under the work
# dir and can be uploaded later with `wandb sync`); set WANDB_MODE=disabled to skip it.
vis_backends = [
    dict(type='LocalVisBackend'),
    # The run summary keeps the last CAM mIoU, the figure of the last checkpoint.
    dict(type='AutoWandbVisBackend', init_kwargs=dict(project='acr-wsss'),
         define_metric_cfg={'cam/mIoU': 'last'}),
]
# No fixed name: each runner gets its own visualizer (mmengine keeps instances by name).
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
    # CheckpointHook that writes through a temporary file and a rename: a killed run never
    # leaves a truncated checkpoint behind (projects/acr/engine/hooks).
    # Reported figures come from the last checkpoint, as in the official runs: validation
    # scores the class maps on the masks of the split that is reported (VOC train), so
    # keeping the best epoch would select on it. To keep it anyway (labelled so):
    # --cfg-options default_hooks.checkpoint.save_best=cam/mIoU
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

# After every epoch: CAM and pseudo-label mIoU, a per-class table and overlays on a fixed
# subset of training images (projects/acr/engine/hooks/cam_quality_hook.py).
custom_hooks = [dict(type='CAMQualityHook', num_images=64, interval=1)]
