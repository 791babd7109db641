"""Official ACR checkpoints <-> ours: same logits and maps after conversion."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from projects.acr.apis.official_checkpoint import (detect_official_backbone, official_to_ours,
                                                   ours_to_official)

ROOT = Path(__file__).resolve().parents[2]
MODEL = dict(
    type='ACRClassifier',
    data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
    backbone=dict(type='AttentionViT', arch='vit_tiny_patch16_224',
                  timm_kwargs=dict(img_size=32, patch_size=8, depth=3, embed_dim=24,
                                   num_heads=2)),
    head=dict(type='CAMHead', num_classes=4, start_layer=1),
    acr_loss=dict(type='ACRLoss', loss_weight=125.0),
    test_cfg=dict(align_corners=True, norm_eps=1e-6))


def _build(seed):
    torch.manual_seed(seed)
    model = MODELS.build(MODEL)
    model.init_weights()
    return model.eval()


def _official_layout(model, ddp=True):
    """What the official code saves: its ViT, timm's ImageNet head and DPT's unused
    decoder layers beside the classifier (``module.`` from DDP)."""
    state = {}
    for k, v in model.backbone.vit.state_dict().items():
        state[f'pretrained.model.{k}'] = v.clone()
    state['pretrained.model.head.weight'] = torch.randn(1000, 24)
    state['pretrained.act_postprocess1.0.weight'] = torch.randn(3)
    state['scratch.layer1_rn.weight'] = torch.randn(2, 2)
    state['cls_head.weight'] = model.head.fc.weight.detach().clone()
    state['cls_head.bias'] = model.head.fc.bias.detach().clone()
    if ddp:
        state = {f'module.{k}': v for k, v in state.items()}
    return state


def _outputs(model, img):
    s = SegDataSample()
    s.set_metainfo(dict(img_labels=np.array([1, 0, 1, 0], np.float32), img_shape=(32, 32),
                        ori_shape=(40, 50)))
    with torch.no_grad():
        logits = model(img, mode='tensor')
        cams = model.predict(img, [s])[0].pred_cams
    return logits, cams


def test_official_checkpoint_gives_the_same_logits_and_maps():
    trained = _build(0)
    conv = official_to_ours(_official_layout(trained))
    assert conv.backbone == 'vitb' and conv.num_classes == 4
    assert 'module.scratch.layer1_rn.weight' not in conv.dropped  # prefix removed first
    assert set(conv.dropped) == {'pretrained.model.head.weight',
                                 'pretrained.act_postprocess1.0.weight',
                                 'scratch.layer1_rn.weight'}
    fresh = _build(1)
    fresh.load_state_dict(conv.state_dict, strict=True)
    img = torch.randn(1, 3, 32, 32)
    for a, b in zip(_outputs(trained, img), _outputs(fresh, img)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_round_trip_is_identity():
    model = _build(0)
    ours = {k: v for k, v in model.state_dict().items()}
    official = ours_to_official(dict(state_dict=ours))
    assert 'cls_head.weight' in official and 'pretrained.model.pos_embed' in official
    back = official_to_ours(official).state_dict
    assert set(back) == set(ours)
    for k in ours:
        assert torch.equal(back[k], ours[k]), k


def test_unknown_layouts_are_named():
    with pytest.raises(ValueError, match=r'weights\.pth: not a checkpoint in the official'):
        official_to_ours({'encoder.weight': torch.zeros(1)}, 'weights.pth')
    ours = _build(0).state_dict()
    with pytest.raises(ValueError, match='official layout'):
        official_to_ours(ours, 'ours.pth')  # already converted
    with pytest.raises(ValueError, match='our layout'):
        ours_to_official(_official_layout(_build(0)), 'official.pth')
    with pytest.raises(ValueError, match='no state dict of tensors'):
        official_to_ours({'epoch': 3}, 'meta.pth')


def test_backbones_are_told_apart():
    assert detect_official_backbone({'patch_embed.backbone.stem.conv.weight': 0}) == 'vitb_hybrid'
    assert detect_official_backbone({'dist_token': 0, 'cls_token': 0}) == 'deit_distilled'
    assert detect_official_backbone({'cls_token': 0}) == 'vitb'


def test_tool_converts_and_the_result_loads(tmp_path):
    src = tmp_path / 'acr_001_last.pth'
    torch.save(_official_layout(_build(0), ddp=False), src)
    dst = tmp_path / 'converted.pth'
    out = subprocess.run([sys.executable,
                          str(ROOT / 'tools' / 'model_converters' / 'acr_official.py'),
                          str(src), str(dst)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert 'backbone vitb' in out.stdout and '4 classes' in out.stdout
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    fresh = _build(2)
    fresh.load_state_dict(ckpt['state_dict'], strict=True)
    back = tmp_path / 'back.pth'
    out = subprocess.run([sys.executable,
                          str(ROOT / 'tools' / 'model_converters' / 'acr_official.py'),
                          str(dst), str(back), '--reverse'], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert 'cls_head.weight' in torch.load(back, weights_only=True)
    bad = subprocess.run([sys.executable,
                          str(ROOT / 'tools' / 'model_converters' / 'acr_official.py'),
                          str(tmp_path / 'missing.pth'), str(dst)], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode != 0 and 'missing.pth' in bad.stderr
