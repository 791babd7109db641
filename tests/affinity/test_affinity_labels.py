import itertools

import numpy as np
import pytest
import torch

from projects.acr.affinity import (affinity_targets, combine_crf_labels, downsample_labels,
                                   radius_offsets, radius_pairs)

IGNORE = 255


def loop_pairs(h, w, radius):
    """Every unordered pair of grid cells closer than radius, by brute force."""
    cells = [(y, x) for y in range(h) for x in range(w)]
    out = set()
    for (y0, x0), (y1, x1) in itertools.combinations(cells, 2):
        if (y0 - y1) ** 2 + (x0 - x1) ** 2 < radius ** 2:
            out.add(frozenset((y0 * w + x0, y1 * w + x1)))
    return out


def test_radius_offsets_psa_count_and_half_disc():
    off = radius_offsets(5).tolist()
    assert len(off) == 34  # PSA's radius-5 neighbourhood
    assert len(set(map(tuple, off))) == 34
    for dy, dx in off:
        assert dy * dy + dx * dx < 25 and (dy > 0 or (dy == 0 and dx > 0))
    with pytest.raises(ValueError, match='at least 2'):
        radius_offsets(1)


@pytest.mark.parametrize('h,w,r', [(4, 5, 3), (6, 3, 5), (1, 7, 2), (7, 7, 5)])
def test_radius_pairs_equal_brute_force(h, w, r):
    src, dst = radius_pairs(h, w, r)
    got = [frozenset((int(a), int(b))) for a, b in zip(src, dst)]
    assert len(got) == len(set(got))  # each pair once, never a self pair
    assert all(len(p) == 2 for p in got)
    assert set(got) == loop_pairs(h, w, r)


def test_combine_crf_labels_psa_rule():
    low = torch.tensor([[0, 2, 2, 0], [3, 3, 0, 0]])
    high = torch.tensor([[0, 2, 0, 2], [3, 1, 0, 2]])
    got = combine_crf_labels(low, high)
    # fg from low, bg where high is 0, unknown where low says bg and high says fg
    assert got.tolist() == [[0, 2, 0, IGNORE], [3, 3, 0, IGNORE]]
    with pytest.raises(ValueError, match='differ in size'):
        combine_crf_labels(low, high[:, :3])


def test_downsample_labels_majority_vote_vs_loop():
    rng = np.random.default_rng(0)
    label = rng.choice([0, 1, 3, IGNORE], size=(2, 13, 11), p=[0.3, 0.3, 0.2, 0.2])
    label[0, :4, :4] = IGNORE  # a cell without votes
    got = downsample_labels(torch.from_numpy(label), (4, 3), 4).numpy()
    for b, y, x in itertools.product(range(2), range(4), range(3)):
        cell = label[b, y * 4:(y + 1) * 4, x * 4:(x + 1) * 4].ravel()
        cell = cell[cell != IGNORE]
        if cell.size == 0:
            assert got[b, y, x] == IGNORE
        else:
            counts = np.bincount(cell)
            assert got[b, y, x] == np.flatnonzero(counts == counts.max())[0]


def test_affinity_targets_equal_plain_loop_over_pairs():
    # Hand-built CRF maps on a 6x5 image, stride 1 so that every pixel is a grid cell.
    low = torch.tensor([[0, 0, 1, 1, 0],
                        [0, 1, 1, 1, 0],
                        [0, 0, 0, 2, 2],
                        [0, 0, 0, 2, 2],
                        [1, 0, 0, 0, 2],
                        [0, 0, 0, 0, 0]])
    high = torch.tensor([[0, 1, 1, 1, 1],
                         [0, 1, 1, 1, 0],
                         [2, 0, 1, 2, 2],
                         [0, 0, 2, 2, 2],
                         [1, 1, 0, 2, 2],
                         [0, 0, 0, 0, 0]])
    out = affinity_targets(low[None], high[None], (6, 5), radius=3, stride=1)
    label = combine_crf_labels(low, high).flatten().tolist()
    expected = {'bg': set(), 'fg': set(), 'neg': set()}
    for i, j in itertools.combinations(range(30), 2):
        (yi, xi), (yj, xj) = divmod(i, 5), divmod(j, 5)
        if (yi - yj) ** 2 + (xi - xj) ** 2 >= 9:
            continue
        a, b = label[i], label[j]
        if IGNORE in (a, b):
            continue
        kind = ('bg' if a == 0 else 'fg') if a == b else 'neg'
        expected[kind].add(frozenset((i, j)))
    pairs = list(zip(out['index_from'].tolist(), out['index_to'].tolist()))
    for kind in ('bg', 'fg', 'neg'):
        got = {frozenset(p) for p, m in zip(pairs, out[kind][0].tolist()) if m}
        assert got == expected[kind], kind
    assert all(expected.values())  # the example has pairs of every kind
    # The three kinds are exclusive.
    assert int((out['bg'].int() + out['fg'].int() + out['neg'].int()).max()) == 1


def test_affinity_targets_combined_label_equals_two_maps_of_it():
    rng = np.random.default_rng(1)
    combined = torch.from_numpy(rng.choice([0, 1, 2, IGNORE], size=(1, 16, 16)))
    a = affinity_targets(combined, None, (4, 4), radius=5, stride=4)
    b = affinity_targets(combined, combined, (4, 4), radius=5, stride=4)
    for kind in ('bg', 'fg', 'neg'):
        assert torch.equal(a[kind], b[kind])
