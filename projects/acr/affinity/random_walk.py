"""Random walk of class scores over an affinity graph (PSA, Ahn & Kwak, CVPR 2018).

With ``A`` the affinity matrix raised to ``beta`` (ones on the diagonal) and ``D`` its
column sums, the transition matrix is ``T = A D^-1``; the scores ``v`` (C, N) of the grid
positions become ``v T^t`` with ``t = 2 ** logt``: each step replaces a position's scores
by the affinity-weighted mean of its neighbours', so scores spread within regions of high
mutual affinity and stop at boundaries. PSA forms ``T^t`` densely by ``logt`` squarings;
here the default applies the sparse ``T`` (CSR) ``t`` times to the (C, N) scores, which costs
``t * nnz(T) * C`` instead of ``logt * N^3`` and never holds an N x N matrix. The dense
form is kept for small grids and as a reference.
"""
import warnings
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .affinity_graph import AffinityGraph

WALK_METHODS = ('auto', 'sparse', 'dense')
# Dense squaring of T holds N x N floats: refuse grids where that passes ~1 GB.
MAX_DENSE_NODES = 16384
# 'auto' squares densely up to this many positions (a 16x16 grid: logt products of
# 256 x 256 matrices), where the 2^logt sparse products would cost more in per-call
# overhead than in arithmetic; larger grids take the sparse steps.
AUTO_DENSE_NODES = 256


def transition_matrix(graph: AffinityGraph, beta: float = 8.0) -> torch.Tensor:
    """Column-normalised ``A ** beta`` of the graph.

    Args:
        graph (AffinityGraph): Pair affinities of one image.
        beta (float): Affinity exponent. Defaults to 8 (PSA).

    Returns:
        torch.Tensor: sparse COO float32 (N, N) whose columns sum to 1.
    """
    a = graph.sparse_matrix(beta)
    idx, val = a.indices(), a.values()
    col_sum = torch.zeros(a.shape[1], device=val.device).index_add_(0, idx[1], val)
    return torch.sparse_coo_tensor(idx, val / col_sum[idx[1]], a.shape,
                                   check_invariants=False).coalesce()


def random_walk(scores: torch.Tensor, graph: AffinityGraph, beta: float = 8.0,
                logt: int = 8, method: str = 'auto') -> torch.Tensor:
    """Propagates grid scores ``2 ** logt`` steps over the affinity graph.

    Args:
        scores (torch.Tensor): (C, h, w) scores on the graph's grid (background first
            when the caller wants it to walk too).
        graph (AffinityGraph): Pair affinities of the same grid.
        beta (float): Affinity exponent. Defaults to 8 (PSA).
        logt (int): log2 of the number of steps. Defaults to 8 (PSA: 256 steps).
        method (str): ``'sparse'`` (repeated sparse products), ``'dense'`` (``logt``
            squarings of the dense N x N transition matrix, as PSA does; small grids
            only) or ``'auto'`` (dense up to ``AUTO_DENSE_NODES`` positions, sparse
            above). Defaults to ``'auto'``.

    Returns:
        torch.Tensor: float32 (C, h, w) propagated scores.
    """
    if method not in WALK_METHODS:
        raise ValueError(f'random-walk method must be one of {WALK_METHODS}, got {method!r}')
    if scores.dim() != 3 or tuple(scores.shape[1:]) != (graph.height, graph.width):
        raise ValueError(f'scores of shape {tuple(scores.shape)} do not fit the '
                         f'{graph.height}x{graph.width} affinity grid')
    if int(logt) < 0:
        raise ValueError(f'logt must be >= 0, got {logt}')
    c = scores.shape[0]
    vec = scores.reshape(c, -1).float().to(graph.weight.device)
    trans = transition_matrix(graph, beta)
    if method == 'auto':
        method = 'dense' if graph.num_nodes <= AUTO_DENSE_NODES else 'sparse'
    if method == 'dense':
        if graph.num_nodes > MAX_DENSE_NODES:
            raise ValueError(f'dense random walk on {graph.num_nodes} positions would hold a '
                             f'{graph.num_nodes}^2 matrix; use method="sparse"')
        t = trans.to_dense()
        for _ in range(int(logt)):
            t = t @ t
        out = vec @ t
    else:
        # (v T)^T = T^T v^T with the sparse operand first, in CSR: its products with a
        # dense matrix cost a tenth of COO's on CPU (0.6 s against 7.8 s for 256 steps on
        # a 64x64 grid), mostly the per-call overhead.
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
            trans_t = trans.t().coalesce().to_sparse_csr()
        out_t = vec.t().contiguous()
        for _ in range(2 ** int(logt)):
            out_t = trans_t @ out_t
        out = out_t.t()
    return out.reshape(c, graph.height, graph.width)


def grid_scores(score_map: torch.Tensor, size: Sequence[int], stride: int) -> torch.Tensor:
    """Full-resolution scores averaged over the cells of a stride-``stride`` grid.

    Args:
        score_map (torch.Tensor): (C, H, W) scores at the image resolution.
        size (Sequence[int]): (h, w) of the grid; the map is zero-padded to
            ``(h * stride, w * stride)`` (or cut) first, as PSA pads the image.
        stride (int): Pixels per cell along each side.

    Returns:
        torch.Tensor: float32 (C, h, w).
    """
    h, w = int(size[0]), int(size[1])
    x = score_map.float()[:, :h * stride, :w * stride]
    x = F.pad(x, (0, w * stride - x.shape[2], 0, h * stride - x.shape[1]))
    return F.avg_pool2d(x.unsqueeze(0), stride, stride)[0]


def walk_labels(score_map: torch.Tensor, graph: AffinityGraph, stride: int = 8,
                beta: float = 8.0, logt: int = 8, method: str = 'auto',
                out_size: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Index of the strongest channel after the random walk, at the image resolution.

    Args:
        score_map (torch.Tensor): (C, H, W) scores (background first) at the image size.
        graph (AffinityGraph): Pair affinities of the image's stride-``stride`` grid.
        stride (int): Pixels per grid cell. Defaults to 8.
        beta (float): Affinity exponent. Defaults to 8.
        logt (int): log2 of the number of steps. Defaults to 8.
        method (str): See :func:`random_walk`.
        out_size (Sequence[int], optional): (H, W) of the result; the map's by default.

    Returns:
        torch.Tensor: int64 (H, W) channel indices.
    """
    size = (graph.height, graph.width)
    walked = random_walk(grid_scores(score_map, size, stride), graph, beta, logt, method)
    out_h, out_w = out_size or score_map.shape[1:]
    # Upsample over the padded extent, then cut: grid cell k covers pixels k*s..(k+1)*s-1.
    up = F.interpolate(walked.unsqueeze(0), size=(size[0] * stride, size[1] * stride),
                       mode='bilinear', align_corners=False)[0]
    return up[:, :out_h, :out_w].argmax(dim=0)
