"""The class-token-only last block against timm's own block, on every published arch."""
import pytest
import timm
import torch
from timm.models.vision_transformer import Block

from projects.acr.benchmark import count_flops
from projects.acr.models import AttentionViT
from projects.acr.models.backbones.class_token_block import (class_token_block,
                                                             supports_class_token_block)

SMALL = dict(img_size=32, depth=3, embed_dim=48, num_heads=3)
# The published backbones at a small width and depth, random weights; the last two
# exercise timm's optional pieces (layer scale, q/k norm, scaled attention norm).
ARCHS = [
    ('vit_base_patch16_384', dict(SMALL, patch_size=8)),
    ('vit_base_r50_s16_384', SMALL),  # hybrid: ResNet stem, 16 px tokens
    ('deit_base_patch16_384', dict(SMALL, patch_size=8)),
    ('deit_base_distilled_patch16_384', dict(SMALL, patch_size=8)),  # two prefix tokens
    ('vit_base_patch16_384', dict(SMALL, patch_size=8, init_values=0.3, qk_norm=True)),
    ('vit_base_patch16_384', dict(SMALL, patch_size=8, scale_attn_norm=True)),
]
IDS = ['vit', 'hybrid', 'deit', 'deit_distilled', 'layer_scale_qk_norm', 'attn_norm']


def _timm_model(arch, kwargs):
    torch.manual_seed(0)
    model = timm.create_model(arch, pretrained=False, num_classes=0, dynamic_img_size=True,
                              **kwargs).double().eval()
    with torch.no_grad():  # random biases and norms too, so that every term counts
        for name, p in model.named_parameters():
            if name.endswith('bias') or 'norm' in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def _last_block_input(model, x):
    tokens = model.norm_pre(model._pos_embed(model.patch_embed(x)))
    return model.blocks[:-1](tokens)


@pytest.mark.parametrize('arch, kwargs', ARCHS, ids=IDS)
def test_class_token_equals_timm_block(arch, kwargs):
    model = _timm_model(arch, kwargs)
    block = model.blocks[-1]
    assert supports_class_token_block(block)
    x = torch.randn(2, 3, 32, 48, dtype=torch.float64)
    tokens = _last_block_input(model, x)
    with torch.no_grad():
        expected = block(tokens)  # timm's own forward (its fused attention by default)
        block.attn.fused_attn = False
        recorded = []
        block.attn.attn_drop.register_forward_hook(lambda m, i, o: recorded.append(i[0]))
        block(tokens)
        cls, attn = class_token_block(block, tokens)
    torch.testing.assert_close(cls, expected[:, :1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(attn, recorded[0], rtol=1e-12, atol=1e-12)
    assert attn.shape == (2, 3, tokens.shape[1], tokens.shape[1])


# float64: equal up to rounding; float32: the one-row products round differently.
TOLERANCES = {torch.float64: (1e-12, 1e-10), torch.float32: (1e-5, 1e-4)}


@pytest.mark.parametrize('dtype', list(TOLERANCES), ids=['float64', 'float32'])
@pytest.mark.parametrize('arch, kwargs', ARCHS[:4], ids=IDS[:4])
def test_class_scores_and_their_attention_gradients_are_unchanged(arch, kwargs, dtype):
    torch.manual_seed(0)
    wrapped = AttentionViT(arch, timm_kwargs=kwargs).to(dtype).eval()
    fc = torch.nn.Linear(wrapped.embed_dim, 4).to(dtype)
    x = torch.randn(2, 3, 32, 32, dtype=dtype)
    cotangents = torch.eye(4, dtype=dtype)[:, None].expand(4, 2, 4)
    tol, grad_tol = TOLERANCES[dtype]
    results = []
    for cls_only in (False, True):
        out = wrapped(x, grad_from_block=1, class_token_only=cls_only)
        logits = fc(out.cls_token)
        grads = torch.autograd.grad(logits, out.attns[1:], grad_outputs=cotangents,
                                    is_grads_batched=True)
        results.append((logits.detach(), [a.detach() for a in out.attns], grads, out))
    (ref_logits, ref_attns, ref_grads, ref_out), (logits, attns, grads, out) = results
    torch.testing.assert_close(logits, ref_logits, rtol=tol, atol=tol)
    for a, b in zip(attns, ref_attns):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    for g, h in zip(grads, ref_grads):  # relative to each block's largest gradient
        scale = h.abs().max()
        torch.testing.assert_close(g / scale, h / scale, rtol=0, atol=grad_tol)
    # The last block's rows other than the class token's get no gradient in either path.
    assert grads[-1][..., 1:, :].abs().max() == 0 and grads[-1][..., 0, :].abs().max() > 0
    assert out.patch_tokens is None and ref_out.patch_tokens is not None
    assert out.num_prefix_tokens == ref_out.num_prefix_tokens


def test_the_saving_is_the_other_tokens_share_of_the_last_block():
    d, heads = 48, 3
    wrapped = AttentionViT('vit_base_patch16_384', timm_kwargs=dict(
        SMALL, patch_size=8, embed_dim=d, num_heads=heads)).eval()
    x = torch.randn(1, 3, 32, 32)
    t = 1 + 16  # class token and a 4 x 4 grid
    with torch.no_grad():
        full = count_flops(lambda: wrapped(x))
        cls_only = count_flops(lambda: wrapped(x, class_token_only=True))
    # Per other token: its value product (2 T D), projection (2 D^2), MLP (2 x 8 D^2).
    assert full - cls_only == (t - 1) * (2 * t * d + 2 * d * d + 16 * d * d)


def test_other_block_types_run_whole():
    class OwnBlock(Block):
        pass

    wrapped = AttentionViT('vit_tiny_patch16_224', timm_kwargs=dict(SMALL, patch_size=8)).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        ref = wrapped(x)
        wrapped.vit.blocks[-1].__class__ = OwnBlock
        assert not supports_class_token_block(wrapped.vit.blocks[-1])
        out = wrapped(x, class_token_only=True)
    torch.testing.assert_close(out.cls_token, ref.cls_token)
    assert out.patch_tokens is not None
    with pytest.raises(TypeError, match='OwnBlock'):
        class_token_block(wrapped.vit.blocks[-1], torch.randn(1, 17, 48))


def test_no_graph_when_every_block_is_before_grad_from_block():
    wrapped = AttentionViT('vit_tiny_patch16_224', timm_kwargs=dict(SMALL, patch_size=8))
    out = wrapped(torch.randn(1, 3, 32, 32), grad_from_block=3, class_token_only=True)
    assert not out.cls_token.requires_grad
    assert not any(a.requires_grad for a in out.attns)
    out = wrapped(torch.randn(1, 3, 32, 32), grad_from_block=2, class_token_only=True)
    assert out.cls_token.requires_grad and out.attns[2].requires_grad
    assert not out.attns[1].requires_grad
