"""ToCoViT: ToCo's token path on timm's weights, attention recording, argument checks."""
import pytest
import torch

from projects.toco.models.backbones import ToCoViT

KW = dict(arch='vit_tiny_patch16_224',
          timm_kwargs=dict(img_size=32, patch_size=8, depth=3, embed_dim=24, num_heads=2))


def test_recording_attention_leaves_the_tokens_unchanged():
    torch.manual_seed(0)
    fused = ToCoViT(**KW)
    recorded = ToCoViT(record_attention=True, **KW)
    recorded.load_state_dict(fused.state_dict())
    x = torch.randn(2, 3, 40, 24)
    a, b = fused(x), recorded(x)
    assert a.attns == [] and len(b.attns) == 3 and b.attns[0].shape == (2, 2, 16, 16)
    torch.testing.assert_close(a.patch_tokens, b.patch_tokens, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.aux_tokens, b.aux_tokens, rtol=1e-5, atol=1e-6)
    assert b.grid == (5, 3)


def test_input_border_is_cut_as_the_strided_convolution_does():
    torch.manual_seed(0)
    vit = ToCoViT(**KW)
    x = torch.randn(1, 3, 45, 30)
    torch.testing.assert_close(vit(x).patch_tokens, vit(x[..., :40, :24]).patch_tokens)


def test_aux_layer_is_the_block_output_and_the_last_one_is_normed():
    torch.manual_seed(0)
    last = ToCoViT(aux_layer=-1, **KW)
    x = torch.randn(1, 3, 32, 32)
    out = last(x)
    torch.testing.assert_close(out.aux_tokens, out.patch_tokens)
    assert ToCoViT(aux_layer=-3, **KW).aux_layer == 0
    with pytest.raises(ValueError, match='aux_layer 3 is out of range'):
        ToCoViT(aux_layer=3, **KW)


def test_distilled_deit_is_rejected():
    with pytest.raises(ValueError, match='one class token'):
        ToCoViT(arch='deit_tiny_distilled_patch16_224',
                timm_kwargs=dict(img_size=32, patch_size=8, depth=1))
