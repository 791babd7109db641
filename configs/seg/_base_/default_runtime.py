# Runtime of the stage-2 segmenters: iteration-based, as mmseg's _base_/default_runtime.py
# (kept here because mmengine's `mmseg::` base references need pkg_resources, which current
# setuptools no longer ships), plus the project's components and W&B logging.
default_scope = 'mmseg'
# projects.acr registers the DeepLabV2 head, the pseudo-label dataset and the CRF TTA model.
custom_imports = dict(imports=['projects.acr'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)
# W&B goes offline by itself without an API key or network (see AutoWandbVisBackend).
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='AutoWandbVisBackend', init_kwargs=dict(project='acr-wsss')),
]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=2,
        save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

# Multi-scale + flip testing (`tta_pipeline` of the dataset config) merges softmax
# probabilities; `tta_model.dense_crf=True` adds DeepLab's dense CRF on the merged
# probabilities (needs pydensecrf2). A single-scale unflipped tta_pipeline gives CRF alone.
tta_model = dict(type='CRFSegTTAModel', dense_crf=False)
