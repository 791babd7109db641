import pytest
import timm
import torch

from projects.acr.models import AttentionViT

TINY = dict(img_size=64, patch_size=16, depth=3, embed_dim=48, num_heads=3)


def _pair(arch, **kwargs):
    """A plain timm model and the wrapper holding the same weights."""
    torch.manual_seed(0)
    plain = timm.create_model(arch, pretrained=False, num_classes=7,
                              dynamic_img_size=True, **kwargs).eval()
    wrapped = AttentionViT(arch, final_norm=True, timm_kwargs=dict(num_classes=7, **kwargs))
    wrapped.vit.load_state_dict(plain.state_dict())
    return plain, wrapped.eval()


@pytest.mark.parametrize('arch,kwargs', [
    ('vit_tiny_patch16_224', TINY),
    ('vit_base_r50_s16_384', dict(img_size=64, depth=2, embed_dim=48, num_heads=3)),
])
def test_wrapping_keeps_logits(arch, kwargs):
    plain, wrapped = _pair(arch, **kwargs)
    x = torch.randn(2, 3, 64, 96)  # not the configured size: pos embed is resampled
    with torch.no_grad():
        expected = plain(x)
        out = wrapped(x)
        tokens = torch.cat([out.cls_token[:, None], out.patch_tokens], 1)
        logits = plain.forward_head(tokens)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)
    assert out.grid == (4, 6)
    assert out.patch_tokens.shape == (2, 24, kwargs['embed_dim'])


def test_distilled_class_token_matches_timm():
    plain, wrapped = _pair('deit_tiny_distilled_patch16_224', **TINY)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = plain.forward_features(x)
        out = wrapped(x)
    assert out.num_prefix_tokens == 2
    torch.testing.assert_close(out.cls_token, feats[:, 0], rtol=1e-4, atol=1e-5)
    assert out.patch_tokens.shape[1] == 16
    assert out.attns[0].shape == (1, 3, 18, 18)


def test_attention_is_recorded_with_gradients():
    wrapped = AttentionViT('vit_tiny_patch16_224', timm_kwargs=TINY)
    x = torch.randn(2, 3, 64, 64)
    out = wrapped(x)
    assert len(out.attns) == 3
    for attn in out.attns:
        assert attn.shape == (2, 3, 17, 17)
        torch.testing.assert_close(attn.sum(-1), torch.ones(2, 3, 17))
        assert attn.requires_grad
    mean = out.mean_attns()
    assert mean.shape == (2, 3, 17, 17)
    grad, = torch.autograd.grad(out.cls_token.sum(), out.attns[-1])
    assert grad.abs().sum() > 0
    # recorders forget the tensors once collected
    assert all(r.attn is None for r in wrapped.recorders)


def test_pre_norm_class_token_by_default():
    wrapped = AttentionViT('vit_tiny_patch16_224', timm_kwargs=TINY)
    assert not any(p.requires_grad for p in wrapped.vit.norm.parameters())
    out = wrapped(torch.randn(1, 3, 32, 32))
    # LayerNorm output would have zero mean per token; the raw residual stream does not
    assert out.cls_token.mean().abs() > 1e-3


def test_unknown_arch_names_the_key():
    with pytest.raises(KeyError, match='vit_base_patch16_38'):
        AttentionViT('vit_base_patch16_38')


def test_pretrained_offline_fails_clearly(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(RuntimeError, match='checkpoint'):
        AttentionViT('vit_tiny_patch16_224', pretrained=True, timm_kwargs=TINY)


def test_local_checkpoint_loads_and_resamples(tmp_path):
    torch.manual_seed(1)
    src = timm.create_model('vit_tiny_patch16_224', pretrained=False, num_classes=1000,
                            **dict(TINY, img_size=32))
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': src.state_dict()}, path)
    wrapped = AttentionViT('vit_tiny_patch16_224', checkpoint=str(path), timm_kwargs=TINY)
    torch.testing.assert_close(wrapped.vit.blocks[1].attn.qkv.weight,
                               src.blocks[1].attn.qkv.weight)
    assert wrapped.vit.pos_embed.shape == (1, 17, 48)  # 2x2 grid resampled to 4x4

    with pytest.raises(FileNotFoundError, match='missing.pth'):
        AttentionViT('vit_tiny_patch16_224', checkpoint=str(tmp_path / 'missing.pth'),
                     timm_kwargs=TINY)
