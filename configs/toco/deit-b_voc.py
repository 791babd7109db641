# ToCo, published setting on PASCAL VOC 2012 with DeiT-B/16: 448 px crops, 20k iterations,
# 2 GPUs x 2 images (`tools/dist_train.sh configs/toco/deit-b_voc.py 2`).
# Published (ToCo README): 68.1 val single scale; 69.8 val / 70.5 test with MS + CRF.
_base_ = [
    '../_base_/models/toco_vit.py', '../_base_/datasets/voc_toco.py',
    '../_base_/default_runtime.py', '../_base_/schedules/toco_poly_20k.py'
]
custom_imports = dict(imports=['projects.acr', 'projects.toco'], allow_failed_imports=False)
model = dict(backbone=dict(arch='deit_base_patch16_224.fb_in1k'))
# Iteration-based logging and checkpoints (--log_iters 200, --eval_iters 2000); the
# validation loop reports the maps and the decoder every 2,000 iterations.
log_processor = dict(by_epoch=False, window_size=200)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=200),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=2000,
                    max_keep_ckpts=2))
custom_hooks = []
