import pytest
import torch
import torch.nn.functional as F

from projects.acr.affinity import (AffinityGraph, grid_scores, radius_pairs, random_walk,
                                   transition_matrix, walk_labels)


def empty_graph(h, w):
    none = torch.zeros(0, dtype=torch.long)
    return AffinityGraph(h, w, none, none, torch.zeros(0))


def block_graph(h, w, blocks):
    """Affinity 1 between cells of the same block (within radius 3), 0 across blocks."""
    src, dst = radius_pairs(h, w, 3)
    b = blocks.flatten()
    return AffinityGraph(h, w, src, dst, (b[src] == b[dst]).float())


def test_identity_affinity_returns_the_input():
    scores = torch.rand(3, 5, 7)
    for method in ('sparse', 'dense'):
        assert torch.allclose(random_walk(scores, empty_graph(5, 7), 8, 8, method), scores)
    # Affinity 0 on every pair is the identity too.
    src, dst = radius_pairs(5, 7, 5)
    zero = AffinityGraph(5, 7, src, dst, torch.zeros(src.numel()))
    assert torch.allclose(random_walk(scores, zero, beta=8, logt=8), scores, atol=1e-6)


def test_block_diagonal_affinity_spreads_a_seed_over_exactly_its_block():
    h, w = 6, 8
    blocks = torch.zeros(h, w, dtype=torch.long)
    blocks[:, 4:] = 1
    blocks[4:, :4] = 2
    graph = block_graph(h, w, blocks)
    seed = torch.zeros(1, h, w)
    seed[0, 1, 1] = 1.0  # in block 0
    out = random_walk(seed, graph, beta=8, logt=8)[0]
    assert bool((out[blocks == 0] > 1e-3).all())
    assert float(out[blocks != 0].abs().max()) == 0.0
    # After 256 steps the block is flat: the degree-weighted mean of the seed.
    inside = out[blocks == 0]
    assert float(inside.max() - inside.min()) < 1e-4


def test_sparse_walk_equals_psa_dense_squaring():
    h, w = 5, 6
    src, dst = radius_pairs(h, w, 5)
    g = torch.Generator().manual_seed(0)
    graph = AffinityGraph(h, w, src, dst, torch.rand(src.numel(), generator=g))
    scores = torch.rand(3, h, w, generator=g)
    # Plain reference: dense symmetric A^beta with unit diagonal, columns normalised.
    a = torch.eye(h * w)
    a[src, dst] = graph.weight ** 4
    a[dst, src] = graph.weight ** 4
    t = a / a.sum(dim=0, keepdim=True)
    ref = scores.reshape(3, -1) @ torch.linalg.matrix_power(t, 2 ** 5)
    for method in ('sparse', 'dense'):
        got = random_walk(scores, graph, beta=4, logt=5, method=method)
        assert torch.allclose(got.reshape(3, -1), ref, atol=1e-5), method
    assert torch.allclose(transition_matrix(graph, 4).to_dense(), t, atol=1e-6)


def test_walk_labels_upsample_and_argmax():
    score_map = torch.rand(3, 21, 19)
    got = walk_labels(score_map, empty_graph(3, 3), stride=8, logt=2)
    grid = grid_scores(score_map, (3, 3), 8)
    up = F.interpolate(grid[None], size=(24, 24), mode='bilinear', align_corners=False)[0]
    assert got.shape == (21, 19)
    assert torch.equal(got, up[:, :21, :19].argmax(0))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='do not fit'):
        random_walk(torch.rand(2, 4, 4), empty_graph(4, 5))
    with pytest.raises(ValueError, match='method'):
        random_walk(torch.rand(2, 4, 5), empty_graph(4, 5), method='magic')
    with pytest.raises(ValueError, match='outside'):
        AffinityGraph(2, 2, torch.tensor([0]), torch.tensor([4]), torch.ones(1))
