# ToCo on MS COCO 2014 with DeiT-B/16 (scripts/dist_train_coco_seg_neg.py): 80k iterations
# on 4 GPUs x 2 images, auxiliary classifier on block 9, thresholds 0.45 / 0.65, contrast
# temperature 1.0, and its stages: classification alone up to iteration 8,000, then the
# segmentation and energy losses on the auxiliary maps' pseudo labels up to 12,000, then
# everything on the final maps' (`tools/dist_train.sh configs/toco/deit-b_coco.py 4`).
# Published (ToCo README): 41.3 val with MS + CRF.
_base_ = './deit-b_voc.py'
model = dict(
    num_classes=80,
    backbone=dict(aux_layer=9),
    ctc_loss=dict(temperature=1.0),  # CTCLoss_neg(ncrops, temp=1.0) in the COCO script
    train_cfg=dict(
        bkg_thr=0.45, high_thr=0.65, low_thr=0.25,
        stages=[
            dict(begin=0, ptc=0.0, ctc=0.0, seg=0.0, energy=0.0, seg_cams='aux'),
            dict(begin=8001, ptc=0.0, ctc=0.0, seg=1.0, energy=1.0, seg_cams='aux'),
            dict(begin=12001, ptc=1.0, ctc=1.0, seg=1.0, energy=1.0, seg_cams='cam'),
        ]))
dataset_type = 'COCOClsDataset'
data_root = 'data/coco'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='train',
                                     ann_file='ImageSets/train.txt'))
# ToCo validates on a part of COCO val (its val_part.txt); here the first 5,000 val images.
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='val',
                                   ann_file='ImageSets/val.txt', indices=5000))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, split='val',
                                    ann_file='ImageSets/val.txt'))
max_iters = 80000
param_scheduler = [
    dict(type='PolyWarmupLR', warmup_iters=1500, warmup_ratio=1e-6, max_iters=max_iters,
         power=0.9, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
auto_scale_lr = dict(enable=False, base_batch_size=8)
