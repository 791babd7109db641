"""Which positions of a feature grid are paired: every pair closer than a radius.

AffinityNet (PSA) predicts, and is trained on, the affinity of feature-map positions
``i`` and ``j`` with ``|p_i - p_j| < radius`` on the stride-8 grid. Each unordered pair is
listed once, through the "forward" half of the disc: offsets ``(0, dx)`` with
``dx = 1 .. r-1`` and ``(dy, dx)`` with ``dy = 1 .. r-1``, ``|dx| <= r-1`` and
``dy^2 + dx^2 < r^2`` (34 offsets for radius 5, PSA's order).

PSA keeps only the source positions whose whole half-disc lies inside the grid; here
every pair whose two ends lie inside the grid is kept, so that positions on the image
border are connected too (the random walk then reaches them from all sides). The pair
lists are the same for every image of a given grid size, so callers cache them.
"""
from typing import Tuple

import torch


def radius_offsets(radius: int) -> torch.Tensor:
    """Offsets ``(dy, dx)`` of the forward half-disc of ``radius``.

    Args:
        radius (int): Pairs are closer than this (Euclidean, in grid cells); >= 2.

    Returns:
        torch.Tensor: int64 (O, 2); O = 34 for radius 5.
    """
    radius = int(radius)
    if radius < 2:
        raise ValueError(f'the pair radius must be at least 2 (else no pair), got {radius}')
    r = radius - 1
    dy, dx = torch.meshgrid(torch.arange(0, r + 1), torch.arange(-r, r + 1), indexing='ij')
    dy, dx = dy.reshape(-1), dx.reshape(-1)
    inside = dy * dy + dx * dx < radius * radius
    forward = (dy > 0) | (dx > 0)  # one of (d, -d): rows below, or to the right on row 0
    keep = inside & forward
    return torch.stack([dy[keep], dx[keep]], dim=1)


def radius_pairs(height: int, width: int, radius: int,
                 device: torch.device = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Flat indices of all pairs of an ``height x width`` grid closer than ``radius``.

    Args:
        height (int): Grid rows.
        width (int): Grid columns.
        radius (int): Pair radius (see :func:`radius_offsets`).
        device (torch.device, optional): Where the indices go.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: int64 (P,) ``index_from`` and ``index_to`` into
        the row-major flattened grid, grouped by offset (all pairs of the first offset,
        then the second, ...). Each unordered pair appears once; no self pairs.
    """
    if height < 1 or width < 1:
        raise ValueError(f'grid must be at least 1x1, got {height}x{width}')
    offsets = radius_offsets(radius).to(device)                    # (O, 2)
    ys = torch.arange(height, device=device).view(1, -1, 1)
    xs = torch.arange(width, device=device).view(1, 1, -1)
    ty = ys + offsets[:, 0].view(-1, 1, 1)                          # (O, H, 1)
    tx = xs + offsets[:, 1].view(-1, 1, 1)                          # (O, 1, W)
    valid = ((ty >= 0) & (ty < height)) & ((tx >= 0) & (tx < width))  # (O, H, W)
    src = (ys * width + xs).expand_as(valid)
    dst = ty * width + tx
    return src[valid], dst.expand_as(valid)[valid]
