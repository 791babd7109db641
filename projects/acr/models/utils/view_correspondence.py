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


# A sample position closer than this (in tokens) to a token centre is snapped onto it, so
# that a pair whose map sends centres onto centres (a mirror, a shift by whole tokens)
# gathers exactly instead of mixing in neighbours with weights of float round-off.
_SNAP_TOKENS = 1e-4


def affine_token_correspondence(view_affine: torch.Tensor, grid1: Tuple[int, int],
                                grid2: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor,
                                                                 torch.Tensor]:
    """Bilinear correspondence from view one's tokens to view two's token grid.

    Both views are described in normalised coordinates with ``align_corners=False``
    conventions: ``(-1, -1)`` is the top-left corner of the view's canvas and ``(1, 1)``
    the bottom-right one, so the centre of token ``(r, c)`` of an ``(h, w)`` grid is at
    ``((2c + 1) / w - 1, (2r + 1) / h - 1)``. ``view_affine`` maps a point ``(x, y)`` of
    view one to the point ``M[:, :2] @ (x, y) + M[:, 2]`` of view two that shows the same
    image content (crop, scale and flip are all of this form).

    Each token centre of view one is mapped into view two and read there by bilinear
    interpolation between the four surrounding token centres (the nearest centre along an
    axis where the point lies between the outermost centre and the canvas edge). A token
    whose centre maps outside view two's canvas sees content view two does not show: it
    is marked invalid.

    Args:
        view_affine (Tensor): (B, 2, 3) map from view one's to view two's normalised
            coordinates.
        grid1 (tuple[int, int]): Token grid ``(h1, w1)`` of view one.
        grid2 (tuple[int, int]): Token grid ``(h2, w2)`` of view two.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``index`` long (B, N1, 4) and ``weight`` (B, N1, 4)
        of the view-two tokens (row-major over ``grid2``) that make up each view-one
        token, and ``valid`` bool (B, N1).
    """
    affine = view_affine.to(torch.float64)  # positions exact to far below a token
    h1, w1 = grid1
    h2, w2 = grid2
    dev = affine.device
    ys = (2 * torch.arange(h1, device=dev, dtype=torch.float64) + 1) / h1 - 1
    xs = (2 * torch.arange(w1, device=dev, dtype=torch.float64) + 1) / w1 - 1
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    points = torch.stack([xx.reshape(-1), yy.reshape(-1),
                          torch.ones_like(xx).reshape(-1)])  # (3, N1)
    mapped = affine @ points  # (B, 2, N1): x, y in view two
    valid = (mapped.abs() <= 1 + 1e-9).all(dim=1)
    # Continuous token coordinates of view two: centre of token c at c.
    col = ((mapped[:, 0] + 1) * w2 - 1) / 2
    row = ((mapped[:, 1] + 1) * h2 - 1) / 2

    def axis(pos: torch.Tensor, size: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pos = pos.clamp(0, size - 1)
        near = pos.round()
        pos = torch.where((pos - near).abs() < _SNAP_TOKENS, near, pos)
        lo = pos.floor().clamp(max=max(size - 2, 0))
        frac = pos - lo
        hi = (lo + 1).clamp(max=size - 1)
        return lo.long(), hi.long(), frac

    r0, r1, fr = axis(row, h2)
    c0, c1, fc = axis(col, w2)
    index = torch.stack([r0 * w2 + c0, r0 * w2 + c1, r1 * w2 + c0, r1 * w2 + c1], dim=-1)
    weight = torch.stack([(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc], dim=-1)
    return index, weight.to(view_affine.dtype), valid


def resample_tokens(x: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Reads per-token values of view two at view one's tokens (token axis: dim 1).

    Args:
        x (Tensor): Shape (B, N2, ...).
        index (Tensor): Long (B, N1, 4), from :func:`affine_token_correspondence`.
        weight (Tensor): (B, N1, 4) bilinear weights.

    Returns:
        Tensor: (B, N1, ...), ``out[b, i] = sum_k weight[b, i, k] * x[b, index[b, i, k]]``.
    """
    b, n1, k = index.shape
    flat = index.reshape((b, n1 * k) + (1, ) * (x.ndim - 2)).expand((b, n1 * k) + x.shape[2:])
    gathered = x.gather(1, flat).view((b, n1, k) + x.shape[2:])
    w = weight.view(weight.shape + (1, ) * (x.ndim - 2))
    return (gathered * w).sum(dim=2)


def resample_pairs(x: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Reads pairwise maps of view two at view one's token pairs, rows and columns alike.

    Args:
        x (Tensor): Shape (B, L, N2, N2): ``L`` token-by-token maps per sample.
        index (Tensor): Long (B, N1, 4).
        weight (Tensor): (B, N1, 4).

    Returns:
        Tensor: (B, L, N1, N1), ``out[b, l, i, j] = sum_{k, m} w[b, i, k] w[b, j, m]
        x[b, l, index[b, i, k], index[b, j, m]]``.
    """
    rows = resample_tokens(x.transpose(1, 2), index, weight)  # (B, N1, L, N2)
    cols = resample_tokens(rows.permute(0, 3, 2, 1), index, weight)  # (B, N1(j), L, N1(i))
    return cols.permute(0, 2, 3, 1)


def affine_area_ratio(view_affine: torch.Tensor, grid1: Tuple[int, int],
                      grid2: Tuple[int, int]) -> torch.Tensor:
    """How many view-two tokens one view-one token covers, per sample.

    Attention is a distribution over tokens: where view two shows the content at a larger
    scale, the same mass is spread over more tokens and each carries less. Multiplying
    the resampled attended-to axis by this ratio keeps the mass per unit of image area.

    Args:
        view_affine (Tensor): (B, 2, 3) map between normalised coordinates.
        grid1 (tuple[int, int]): Token grid of view one.
        grid2 (tuple[int, int]): Token grid of view two.

    Returns:
        Tensor: (B,), ``|det M| * (h2 * w2) / (h1 * w1)``; 1 for a mirror.
    """
    det = torch.linalg.det(view_affine[:, :, :2].to(torch.float64)).abs()
    scale = (grid2[0] * grid2[1]) / (grid1[0] * grid1[1])
    return (det * scale).to(view_affine.dtype)


def flip_view_affine(batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The map of a horizontally mirrored view, ``x -> -x``, repeated (B, 2, 3)."""
    affine = torch.tensor([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=device, dtype=dtype)
    return affine.expand(batch, 2, 3).clone()
