"""Token correspondences between two augmented views of one image."""
from typing import Sequence, Tuple

import torch


def flip_token_index(grid: Tuple[int, int], device=None) -> torch.Tensor:
    """Index that maps the tokens of a horizontally flipped view onto the original.

    Token ``i`` of the original view (row-major over the patch grid) sees the same
    image content as token ``index[i]`` of the flipped view.

    Args:
        grid (tuple[int, int]): Patch grid ``(h, w)``.
        device: Device of the result.

    Returns:
        Tensor: Long tensor of shape (h * w,).
    """
    h, w = grid
    return torch.arange(h * w, device=device).view(h, w).flip(-1).reshape(-1)


def view_token_index(flips: Sequence[bool], grid: Tuple[int, int],
                     device=None) -> torch.Tensor:
    """Per-sample index from the second view's tokens to the first view's.

    Args:
        flips (Sequence[bool]): For each sample, whether the second view is the
            horizontal mirror of the first (otherwise the views are aligned).
        grid (tuple[int, int]): Patch grid ``(h, w)``.
        device: Device of the result.

    Returns:
        Tensor: Long tensor of shape (B, h * w); row ``b`` gives, for every token of view
        one, the matching token of view two.
    """
    identity = torch.arange(grid[0] * grid[1], device=device)
    flipped = flip_token_index(grid, device)
    flips = torch.as_tensor(list(flips), dtype=torch.bool, device=device)
    return torch.where(flips[:, None], flipped[None], identity[None])


def gather_tokens(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Reorders the token axis (dim 1) of ``x`` per sample.

    Args:
        x (Tensor): Shape (B, N, ...) .
        index (Tensor): Long tensor (B, N).

    Returns:
        Tensor: ``out[b, i] = x[b, index[b, i]]``, same shape as ``x``.
    """
    shape = index.shape + (1, ) * (x.ndim - 2)
    return x.gather(1, index.view(shape).expand_as(x))


def gather_pairs(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Reorders both token axes of pairwise maps per sample.

    Args:
        x (Tensor): Shape (B, L, N, N): ``L`` stacked token-by-token maps per sample.
        index (Tensor): Long tensor (B, N).

    Returns:
        Tensor: ``out[b, l, i, j] = x[b, l, index[b, i], index[b, j]]``.
    """
    b, l, n, _ = x.shape
    rows = index[:, None, :, None].expand(b, l, n, n)
    cols = index[:, None, None, :].expand(b, l, n, n)
    return x.gather(2, rows).gather(3, cols)
