"""The pretrained toy backbone: a disjoint corpus, and weights loaded as a user loads them."""
import os
import os.path as osp
import shutil

import pytest
import torch
from mmseg.registry import MODELS

from projects.acr.toy_data import make_toy_dataset
from projects.acr.toy_data.pretraining import check_disjoint, export_backbone

BACKBONE = dict(type='AttentionViT', arch='vit_tiny_patch16_224', pretrained=False,
                timm_kwargs=dict(img_size=32, patch_size=8, depth=2, embed_dim=24,
                                 num_heads=2))


def test_corpus_from_another_seed_is_disjoint_and_a_copy_is_caught(tmp_path,
                                                                   shared_toy_dataset):
    toy = shared_toy_dataset(num_train=4, num_val=2, img_size=48, seed=0)
    corpus = str(tmp_path / 'corpus')
    make_toy_dataset(corpus, num_train=6, num_val=0, img_size=48, seed=1)
    check_disjoint(corpus, [toy])
    name = sorted(os.listdir(osp.join(toy, 'JPEGImages')))[0]
    shutil.copy(osp.join(toy, 'JPEGImages', name), osp.join(corpus, 'JPEGImages', 'x.jpg'))
    with pytest.raises(ValueError, match='another corpus seed'):
        check_disjoint(corpus, [toy])


def test_exported_backbone_loads_through_the_checkpoint_key(tmp_path):
    torch.manual_seed(0)
    trained = MODELS.build(dict(
        type='ACRClassifier', data_preprocessor=dict(type='MultiViewDataPreprocessor'),
        backbone=BACKBONE, head=dict(type='CAMHead', num_classes=3)))
    ckpt = str(tmp_path / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=trained.state_dict()), ckpt)
    out = str(tmp_path / 'weights' / 'backbone.pth')
    count = export_backbone(ckpt, out)
    saved = torch.load(out, weights_only=True)
    assert count == len(saved) and all(not k.startswith('backbone.') for k in saved)
    loaded = MODELS.build(dict(BACKBONE, checkpoint=out))
    for key, value in trained.backbone.vit.state_dict().items():
        torch.testing.assert_close(loaded.vit.state_dict()[key], value)
    # The runner initialises the whole model before training: loaded weights survive.
    model = MODELS.build(dict(
        type='ACRClassifier', data_preprocessor=dict(type='MultiViewDataPreprocessor'),
        backbone=dict(BACKBONE, checkpoint=out), head=dict(type='CAMHead', num_classes=3)))
    model.init_weights()
    for key, value in trained.backbone.vit.state_dict().items():
        torch.testing.assert_close(model.backbone.vit.state_dict()[key], value)
    # Without loaded weights the runner's initialisation still draws them.
    scratch = MODELS.build(dict(BACKBONE))
    before = scratch.vit.blocks[0].attn.qkv.weight.clone()
    scratch.init_weights()
    assert not torch.equal(before, scratch.vit.blocks[0].attn.qkv.weight)
    torch.save(dict(state_dict={'head.fc.weight': torch.zeros(1)}), ckpt)
    with pytest.raises(KeyError, match='backbone.vit'):
        export_backbone(ckpt, out)
