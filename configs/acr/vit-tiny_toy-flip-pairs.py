# The toy recipe with the published pair: an image and its mirror (the toy default until
# the seeded study in the README, which trains it as its mirror-pair variants).
_base_ = ['./vit-tiny_toy.py']

crop_size = (96, 96)
pad_bgr = (103.53, 116.28, 123.675)  # the mean: 0 after normalisation
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadCheckedImageFromFile', on_error='skip'),
        dict(type='RandomResize', scale=crop_size, ratio_range=(0.9, 1.14), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='RandomCropPad', crop_size=crop_size, pad_val=pad_bgr),
        dict(type='PairedViews', flip=True),
        dict(type='PackClsInputs'),
    ]))
