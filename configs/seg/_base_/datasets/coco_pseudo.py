# MS COCO 2014 (80 object classes + background) for stage 2: the train2014 images with
# stage-1 pseudo labels, evaluated on the real val2014 masks (SegmentationClass/val2014).
# Pipelines as for VOC (mmseg's COCO-Stuff configs use the same ones). The split files
# list file stems (COCO_train2014_000000000009), the names of the images and labels.
# Point the labels elsewhere with
#   --cfg-options train_dataloader.dataset.pseudo_label_dir=work_dirs/<exp>/pseudo_labels
_base_ = './voc_pseudo.py'
dataset_type = 'BaseSegDataset'
data_root = 'data/coco'
coco_metainfo = dict(classes=(
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench',
    'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe',
    'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl',
    'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
    'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv',
    'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster',
    'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush'))

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(img_path='coco2014/train2014'),
        ann_file='ImageSets/train.txt',
        pseudo_label_dir='work_dirs/vit_coco/pseudo_labels',
        metainfo=dict(_delete_=True, **coco_metainfo)))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='coco2014/val2014', seg_map_path='SegmentationClass/val2014'),
        ann_file='ImageSets/val.txt',
        img_suffix='.jpg',
        seg_map_suffix='.png',
        metainfo=coco_metainfo))
test_dataloader = val_dataloader
