import torch

from projects.acr.models.utils import (flip_token_index, gather_pairs, gather_tokens,
                                       view_token_index)


def test_flip_index_mirrors_each_row():
    idx = flip_token_index((2, 3))
    assert idx.tolist() == [2, 1, 0, 5, 4, 3]


def test_token_index_matches_flipped_image_tokens():
    # tokens of a flipped grid, put back in order, equal the original tokens
    grid = torch.arange(12.).view(1, 3, 4)
    flipped = grid.flip(-1)
    index = view_token_index([True], (3, 4))
    back = gather_tokens(flipped.reshape(1, 12, 1), index)[..., 0]
    torch.testing.assert_close(back, grid.reshape(1, 12))
    assert view_token_index([False], (3, 4)).tolist() == [list(range(12))]


def test_gather_pairs_matches_plain_indexing():
    x = torch.randn(2, 3, 6, 6)
    index = view_token_index([True, False], (2, 3))
    out = gather_pairs(x, index)
    for b in range(2):
        ref = x[b][:, index[b]][:, :, index[b]]
        torch.testing.assert_close(out[b], ref)
