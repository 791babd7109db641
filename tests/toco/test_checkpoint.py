"""ToCo checkpoint layout <-> ours: key names as ToCo's network has them, round trip, tool."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmseg.registry import MODELS

from projects.toco.checkpoint import ours_to_toco, toco_to_ours

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(
    type='ToCo', num_classes=4,
    data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
    backbone=dict(type='ToCoViT', arch='vit_tiny_patch16_224', aux_layer=-2,
                  timm_kwargs=dict(img_size=32, patch_size=8, depth=2, embed_dim=24,
                                   num_heads=2)),
    decoder=dict(channels=8), proj_head=dict(out_dim=16, hidden_dim=16, bottleneck_dim=8))


def _official_encoder_keys(depth):
    """The parameters of ToCo's VisionTransformer (model/backbone/vit.py)."""
    keys = {'cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias',
            'norm.weight', 'norm.bias'}
    for i in range(depth):
        for part in ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2'):
            keys |= {f'blocks.{i}.{part}.weight', f'blocks.{i}.{part}.bias'}
    return {'encoder.' + k for k in keys}


def _toco_state(model):
    """What ToCo's training script saves: the DDP state dict, the ImageNet head included."""
    state = {'module.' + k: v for k, v in ours_to_toco(model.state_dict()).items()}
    state['module.encoder.head.weight'] = torch.zeros(1000, 24)
    state['module.encoder.head.bias'] = torch.zeros(1000)
    return state


def test_layout_and_round_trip():
    torch.manual_seed(0)
    model = MODELS.build(TINY)
    toco = ours_to_toco(model.state_dict())
    assert {k for k in toco if k.startswith('encoder.')} == _official_encoder_keys(2)
    heads = {k.split('.')[0] for k in toco if not k.startswith('encoder.')}
    assert heads == {'classifier', 'aux_classifier', 'decoder', 'proj_head', 'proj_head_t'}
    assert 'proj_head.last_layer.weight_g' in toco and 'decoder.conv6.weight' in toco

    ours = toco_to_ours(_toco_state(model))
    fresh = MODELS.build(TINY)
    fresh.load_state_dict(ours, strict=True)
    x = torch.randn(1, 3, 32, 40)
    model.eval(), fresh.eval()
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)
    back = ours_to_toco(ours)
    assert set(back) == set(toco) and all(torch.equal(back[k], toco[k]) for k in toco)


def test_other_layouts_are_rejected_with_the_file_name():
    with pytest.raises(ValueError, match='w.pth: not a ToCo checkpoint'):
        toco_to_ours({'pretrained.model.cls_token': torch.zeros(1)}, 'w.pth')
    with pytest.raises(ValueError, match='x.pth: not a checkpoint of our ToCo'):
        ours_to_toco({'encoder.cls_token': torch.zeros(1)}, 'x.pth')


@pytest.mark.slow
def test_tool_converts_and_checks_against_the_config(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(dict(TINY))
    src = tmp_path / 'model_iter_20000.pth'
    torch.save(_toco_state(model), src)
    config = tmp_path / 'tiny.py'
    config.write_text(f"custom_imports = dict(imports=['projects.toco'])\nmodel = {TINY!r}\n")
    dst = tmp_path / 'ours.pth'
    tool = osp.join(REPO, 'tools', 'model_converters', 'toco_official.py')
    run = subprocess.run([sys.executable, tool,
                          str(src), str(dst), '--config', str(config)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'every weight found' in run.stdout
    state = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    assert torch.equal(state['backbone.vit.cls_token'], model.backbone.vit.cls_token)
