# The toy recipe with the published pair: an image and its mirror (the toy default until
# the seeded study in the README, which trains it as its mirror-pair variants). The
# dataset's own train pipeline (configs/_base_/datasets/toy_cls.py) makes that pair.
_base_ = ['./vit-tiny_toy.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
