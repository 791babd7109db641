import torch

from projects.acr.models import ACRLoss, AttentionViT
from projects.acr.models.utils import view_token_index


def _reference(attn1, attn2, flips, grid, p):
    """Plain loops: undo the flip of view two on the 2-D grid, then compare."""
    b, l, t, _ = attn1.shape
    h, w = grid
    inten, aff = [], []
    for i in range(b):
        for j in range(l):
            i1 = attn1[i, j, 0, p:].view(h, w)
            i2 = attn2[i, j, 0, p:].view(h, w)
            a1 = attn1[i, j, p:, p:].view(h, w, h, w)
            a2 = attn2[i, j, p:, p:].view(h, w, h, w)
            if flips[i]:
                i2 = i2.flip(1)
                a2 = a2.flip(1).flip(3)
            inten.append((i1 - i2).abs().mean())
            aff.append((a1 - a2).abs().mean())
    return torch.stack(inten).mean(), torch.stack(aff).mean()


def test_matches_plain_reference():
    torch.manual_seed(0)
    grid, p = (3, 4), 2
    t = p + 12
    attn1 = torch.rand(3, 2, t, t).softmax(-1)
    attn2 = torch.rand(3, 2, t, t).softmax(-1)
    flips = [True, False, True]
    loss = ACRLoss(loss_weight=2.0)(attn1, attn2, view_token_index(flips, grid), p)
    ref_i, ref_a = _reference(attn1, attn2, flips, grid, p)
    torch.testing.assert_close(loss['loss_intensity'], 2.0 * ref_i)
    torch.testing.assert_close(loss['loss_affinity'], 2.0 * ref_a)


def test_zero_for_an_equivariant_pair():
    """A flipped image through a flip-equivariant map gives zero loss."""
    torch.manual_seed(0)
    h, w = 3, 4
    n = h * w
    a = torch.rand(2, 1, n + 1, n + 1)
    flip = torch.arange(n).view(h, w).flip(-1).reshape(-1)
    perm = torch.cat([torch.tensor([0]), flip + 1])
    b = a[:, :, perm][:, :, :, perm]
    loss = ACRLoss()(a, b, view_token_index([True, True], (h, w)), 1)
    assert loss['loss_intensity'].item() < 1e-7
    assert loss['loss_affinity'].item() < 1e-7
    # the same pair taken as aligned is not consistent
    loss = ACRLoss()(a, b, view_token_index([False, False], (h, w)), 1)
    assert loss['loss_affinity'].item() > 1e-3


def test_gradient_reaches_the_backbone():
    vit = AttentionViT('vit_tiny_patch16_224',
                       timm_kwargs=dict(img_size=32, patch_size=8, depth=2, embed_dim=24,
                                        num_heads=2))
    x = torch.randn(1, 3, 32, 32)
    out = vit(torch.cat([x, x.flip(-1)]))
    attn = out.mean_attns()
    loss = ACRLoss()(attn[:1], attn[1:], view_token_index([True], out.grid), 1)
    total = loss['loss_intensity'] + loss['loss_affinity']
    total.backward()
    assert vit.vit.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
