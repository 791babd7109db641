"""ACR between two views related by any crop / scale / flip: alignment and its flip case."""
import numpy as np
import pytest
import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from projects.acr.models.losses import ACRLoss
from projects.acr.models.utils import (affine_area_ratio, affine_token_correspondence,
                                       flip_view_affine, resample_pairs, resample_tokens,
                                       view_token_index)

MODEL = dict(
    type='ACRClassifier',
    data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
    backbone=dict(type='AttentionViT', arch='vit_tiny_patch16_224',
                  timm_kwargs=dict(img_size=32, patch_size=8, depth=2, embed_dim=24,
                                   num_heads=2)),
    head=dict(type='CAMHead', num_classes=3, start_layer=1),
    acr_loss=dict(type='ACRLoss', loss_weight=125.0))


def _centres(grid):
    """Normalised (x, y) of the token centres, row-major, shape (N, 2)."""
    h, w = grid
    ys = (2 * torch.arange(h, dtype=torch.float64) + 1) / h - 1
    xs = (2 * torch.arange(w, dtype=torch.float64) + 1) / w - 1
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def _density(p, q):
    """A positive attention density, linear in each end's coordinates (so bilinear
    resampling reproduces it exactly between token centres)."""
    return (2 + 0.3 * p[:, None, 0] - 0.2 * p[:, None, 1] + 0.5 * q[None, :, 0]
            + 0.1 * q[None, :, 1])


def test_synthetic_attention_through_crop_scale_flip_is_recovered():
    grid = (6, 8)
    # View two: zoomed in 1.5x horizontally and 1.25x vertically, mirrored, shifted.
    affine = torch.tensor([[[-1.5, 0.0, 0.2], [0.0, 1.25, -0.1]]], dtype=torch.float64)
    lin, shift = affine[0, :, :2], affine[0, :, 2]
    pos1 = _centres(grid)  # view one shows the image as it is
    pos2 = (_centres(grid) - shift) @ torch.linalg.inv(lin).T  # source of view two's tokens
    area2 = 1 / float(torch.linalg.det(lin).abs())  # image area of one view-two token
    n = grid[0] * grid[1]
    attn1 = torch.rand(1, 1, n + 1, n + 1, dtype=torch.float64) * 5  # garbage outside
    attn2 = torch.zeros_like(attn1)
    attn1[0, 0, 1:, 1:] = _density(pos1, pos1)
    attn2[0, 0, 1:, 1:] = _density(pos2, pos2) * area2
    attn1[0, 0, 0, 1:] = _density(pos1[:1] * 0, pos1)[0]
    attn2[0, 0, 0, 1:] = _density(pos2[:1] * 0, pos2)[0] * area2

    index, weight, valid = affine_token_correspondence(affine, grid, grid)
    ratio = affine_area_ratio(affine, grid, grid)
    aligned = resample_pairs(attn2[:, :, 1:, 1:], index, weight) * ratio
    intensity = resample_tokens(attn2[:, 0, 0, 1:, None], index, weight)[..., 0] * ratio
    # Shared tokens whose mapped centre lies between view two's outermost centres.
    mapped = pos1 @ lin.T + shift
    inner = (mapped.abs() <= torch.tensor([1 - 1 / grid[1], 1 - 1 / grid[0]])).all(1)
    assert inner.sum() >= 8 and (~valid[0]).sum() >= 8  # both kinds of token occur
    assert bool((valid[0] | ~inner).all())
    expected = attn1[0, 0, 1:, 1:]
    torch.testing.assert_close(aligned[0, 0][inner][:, inner], expected[inner][:, inner])
    torch.testing.assert_close(intensity[0][inner], attn1[0, 0, 0, 1:][inner])
    # The loss only looks at shared tokens: whatever view one holds elsewhere is ignored.
    loss = ACRLoss(loss_weight=1.0)(attn1, attn2, None, 1, view_affine=affine,
                                    grids=(grid, grid))
    outside = torch.cat([torch.zeros(1, dtype=torch.bool), ~valid[0]])
    attn1[0, 0, outside] = 100.0
    attn1[0, 0, :, outside] = 100.0
    again = ACRLoss(loss_weight=1.0)(attn1, attn2, None, 1, view_affine=affine,
                                     grids=(grid, grid))
    for key in loss:
        torch.testing.assert_close(again[key], loss[key])
    # Inner tokens match exactly; the band between the outer centres and the edge is
    # read from the nearest centre, so the loss is small but not zero.
    assert loss['loss_affinity'] < 0.02 * expected.mean()


def test_identity_map_of_identical_views_costs_nothing():
    grid = (4, 4)
    attn = torch.rand(2, 3, 17, 17)
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(2, 2, 3)
    loss = ACRLoss(loss_weight=1.0)(attn, attn, None, 1, view_affine=identity,
                                    grids=(grid, grid))
    assert loss['loss_affinity'] == 0 and loss['loss_intensity'] == 0
    # View two shifted by half a view: only view one's left half is shared.
    shifted = torch.tensor([[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]])
    index, weight, valid = affine_token_correspondence(shifted, grid, grid)
    assert valid.view(4, 4)[:, :2].all() and not valid.view(4, 4)[:, 2:].any()
    # Left column of view one is the centre of view two's columns 2 (exactly on a centre).
    assert index.view(4, 4, 4)[0, 0, 0] == 2 and weight.view(4, 4, 4)[0, 0, 0] == 1


def test_general_path_equals_flip_path_in_values_and_gradients():
    torch.manual_seed(0)
    b, layers, grid = 3, 2, (4, 5)
    n = grid[0] * grid[1]
    attn1 = torch.rand(b, layers, n + 1, n + 1, dtype=torch.float64, requires_grad=True)
    attn2 = torch.rand(b, layers, n + 1, n + 1, dtype=torch.float64, requires_grad=True)
    loss = ACRLoss(loss_weight=125.0)
    flip = loss(attn1, attn2, view_token_index([True] * b, grid), 1)
    general = loss(attn1, attn2, None, 1, view_affine=flip_view_affine(b, dtype=torch.float64),
                   grids=(grid, grid))
    for key in flip:
        torch.testing.assert_close(general[key], flip[key], rtol=1e-12, atol=0)
    grads_flip = torch.autograd.grad(sum(flip.values()), (attn1, attn2))
    grads_general = torch.autograd.grad(sum(general.values()), (attn1, attn2))
    for g, f in zip(grads_general, grads_flip):
        torch.testing.assert_close(g, f, rtol=1e-12, atol=0)


def _sample(labels, affine=None):
    s = SegDataSample()
    meta = dict(img_labels=np.array(labels, np.float32), view_flip=True,
                img_shape=(32, 32), ori_shape=(32, 32))
    if affine is not None:
        meta['view_affine'] = affine
    s.set_metainfo(meta)
    return s


def test_classifier_flip_pair_through_the_map_equals_the_flip_index():
    torch.manual_seed(0)
    model = MODELS.build(MODEL)
    model.init_weights()
    img = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    inputs = [torch.stack([i, i.flip(-1)]) for i in img]
    labels = [[1, 0, 1], [0, 1, 0]]
    flip_matrix = np.array([[-1, 0, 0], [0, 1, 0]], np.float32)

    def step(samples):
        model.zero_grad()
        batch = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
        losses = model(**batch, mode='loss')
        sum(losses.values()).backward()
        return ({k: v.detach() for k, v in losses.items()},
                {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None})

    by_index, grads_index = step([_sample(lab) for lab in labels])
    by_map, grads_map = step([_sample(lab, flip_matrix) for lab in labels])
    for key in by_index:
        torch.testing.assert_close(by_map[key], by_index[key], rtol=1e-6, atol=0)
    assert grads_map.keys() == grads_index.keys()
    for key in grads_index:
        torch.testing.assert_close(grads_map[key], grads_index[key], rtol=1e-5, atol=1e-9)


def test_loss_needs_grids_with_a_map():
    attn = torch.rand(1, 1, 5, 5)
    with pytest.raises(ValueError, match='grids'):
        ACRLoss()(attn, attn, None, 1, view_affine=flip_view_affine(1))
    with pytest.raises(ValueError, match='index'):
        ACRLoss()(attn, attn, None, 1)
