# MS COCO 2014 with VOC-style class masks (tree in COCOClsDataset's docstring), image-level
# labels from the masks. Train on train2014 (82,783 images) with VOC's augmentation and
# two views (the second mirrored); pipelines, loaders and metric come from voc_cls.py.
_base_ = './voc_cls.py'
dataset_type = 'COCOClsDataset'
data_root = 'data/coco'
coco_train = dict(
    type=dataset_type, data_root=data_root, split='train', ann_file='ImageSets/train.txt')

train_dataloader = dict(dataset=coco_train)
# Class maps are scored on train2014, the images pseudo labels are made for. Scoring all
# 82,783 every epoch would cost more than an epoch of training, so validation uses the
# first 5,000 images of the list and the test loop (tools/test.py) the whole split. For
# val2014: --cfg-options test_dataloader.dataset.split=val
# test_dataloader.dataset.ann_file=ImageSets/val.txt
val_dataloader = dict(dataset=dict(coco_train, indices=5000))
test_dataloader = dict(dataset=coco_train)
# CAMMetric takes the class names from the dataset (background + the 80 COCO categories).
