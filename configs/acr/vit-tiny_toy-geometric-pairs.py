# The toy recipe with ACR between two independently augmented views instead of an image
# and its mirror: each view gets its own random resize (long side 0.9-1.14 x the crop, as
# the published augmentation), flip and crop; ACRLoss aligns view two onto view one's
# token grid through the recorded geometric map and compares the shared region only.
# This is the pipeline of configs/acr/vit-tiny_toy.py (the toy default since the seeded
# study), spelt out here as the study's geometric variants ran it.
_base_ = ['./vit-tiny_toy.py']

crop_size = (96, 96)
pad_bgr = (103.53, 116.28, 123.675)  # the mean: 0 after normalisation
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadCheckedImageFromFile', on_error='skip'),
        dict(type='PairedViews',
             geometric=dict(crop_size=crop_size, ratio_range=(0.9, 1.14), flip_prob=0.5,
                            pad_val=pad_bgr)),
        dict(type='PackClsInputs'),
    ]))
