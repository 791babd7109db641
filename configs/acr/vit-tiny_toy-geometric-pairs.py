# The toy recipe with ACR between two independently augmented views instead of an image
# and its mirror: each view gets its own random resize (long side 0.9-1.14 x the crop, as
# the published augmentation), flip and crop; ACRLoss aligns view two onto view one's
# token grid through the recorded geometric map and compares the shared region only.
# This is configs/acr/vit-tiny_toy.py itself (the toy default since the seeded study),
# kept under this name because the study's geometric variants were run as it.
_base_ = ['./vit-tiny_toy.py']
