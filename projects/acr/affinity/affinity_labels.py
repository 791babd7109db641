"""Affinity labels of position pairs from the confident-foreground / -background CRF labels.

PSA trains AffinityNet on two dense-CRF label maps of each image, made from its class maps
with a strong and a weak background (``(1 - max cam) ** alpha``, alpha 1 and 12 in the ACR
pipeline, 4 and 32 in PSA's):

* the **low-alpha** map (strong background) is trusted where it says *foreground*;
* the **high-alpha** map (weak background) is trusted where it says *background*;
* everything else is unknown (``ignore_index``).

Both maps are reduced to the stride-8 feature grid by a majority vote in each cell (PSA
average-pools score maps and takes the argmax, which is the same vote), then combined.
A pair of grid positions closer than the radius is labelled

* **background-same** when both ends are background,
* **foreground-same** when both ends carry the same foreground class,
* **different** when both ends are known and differ,

and is ignored when an end is unknown. The combined pseudo labels that
``tools/make_pseudo_labels.py`` writes (agreed label, 255 where the two CRF maps disagree)
may be given instead: they yield the same pairs except at the few pixels where the
low-alpha map says foreground and the high-alpha map disagrees (PSA keeps the
low-alpha class there, or background where the high-alpha map says background; the
combined labels leave them unknown).
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from .pair_geometry import radius_pairs


def combine_crf_labels(label_low: torch.Tensor, label_high: torch.Tensor,
                       ignore_index: int = 255) -> torch.Tensor:
    """One label map from the low-alpha and high-alpha CRF labels.

    Args:
        label_low (torch.Tensor): (..., H, W) integer labels of the low-alpha (confident
            foreground) map; 0 background.
        label_high (torch.Tensor): (..., H, W) labels of the high-alpha (confident
            background) map.
        ignore_index (int): Unknown value. Defaults to 255.

    Returns:
        torch.Tensor: int64 (..., H, W): foreground of ``label_low``, background where
        ``label_high`` is 0, ``ignore_index`` elsewhere.
    """
    if label_low.shape != label_high.shape:
        raise ValueError(f'the two CRF label maps differ in size: {tuple(label_low.shape)} '
                         f'vs {tuple(label_high.shape)}')
    label = label_low.long().clone()
    label[label == 0] = ignore_index
    label[label_high == 0] = 0
    return label


def downsample_labels(label: torch.Tensor, size: Tuple[int, int], stride: int,
                      ignore_index: int = 255) -> torch.Tensor:
    """Majority vote of the labels in each ``stride x stride`` cell.

    The map is padded (or cut) with ``ignore_index`` to ``size * stride`` first, so that
    the result matches a feature grid of ``size``. Unknown pixels do not vote; a cell
    without a known pixel is unknown. Ties go to the smaller class id.

    Args:
        label (torch.Tensor): (B, H, W) integer labels.
        size (tuple[int, int]): (h, w) of the grid.
        stride (int): Pixels per grid cell along each side.
        ignore_index (int): Unknown value. Defaults to 255.

    Returns:
        torch.Tensor: int64 (B, h, w).
    """
    if label.dim() != 3:
        raise ValueError(f'labels must have shape (B, H, W), got {tuple(label.shape)}')
    h, w = size
    full_h, full_w = h * stride, w * stride
    label = label.long()[:, :full_h, :full_w]
    label = F.pad(label, (0, full_w - label.shape[2], 0, full_h - label.shape[1]),
                  value=ignore_index)
    known = label != ignore_index
    num_classes = int(label[known].max()) + 1 if bool(known.any()) else 1
    # Votes: a one-hot map (B, C, H, W) without the unknown pixels, summed per cell.
    onehot = torch.zeros(label.shape[0], num_classes, full_h, full_w, device=label.device)
    onehot.scatter_(1, torch.where(known, label, 0).unsqueeze(1), known.unsqueeze(1).float())
    votes = F.avg_pool2d(onehot, stride, stride) * (stride * stride)
    voters = votes.sum(dim=1)
    # Counts are whole numbers: a bias below 1/2 that falls with the class id breaks ties
    # towards the smaller id on every device (argmax alone does not promise which).
    bias = torch.arange(num_classes, device=label.device, dtype=votes.dtype) * (0.5 / num_classes)
    winner = (votes - bias.view(1, -1, 1, 1)).argmax(dim=1)
    return torch.where(voters > 0.5, winner, torch.full_like(winner, ignore_index))


def pair_affinity_labels(label: torch.Tensor, index_from: torch.Tensor,
                         index_to: torch.Tensor,
                         ignore_index: int = 255) -> Dict[str, torch.Tensor]:
    """Background-same, foreground-same and different labels of position pairs.

    Args:
        label (torch.Tensor): (B, h, w) grid labels (0 background, ``ignore_index``
            unknown).
        index_from (torch.Tensor): (P,) flat indices of the first ends.
        index_to (torch.Tensor): (P,) flat indices of the second ends.
        ignore_index (int): Unknown value. Defaults to 255.

    Returns:
        dict[str, torch.Tensor]: ``bg``, ``fg``, ``neg``: bool (B, P), mutually
        exclusive; a pair with an unknown end is False in all three.
    """
    flat = label.reshape(label.shape[0], -1)
    a, b = flat[:, index_from], flat[:, index_to]
    known = (a != ignore_index) & (b != ignore_index)
    same = (a == b) & known
    return dict(bg=same & (a == 0), fg=same & (a != 0), neg=known & (a != b))


def affinity_targets(label_low: torch.Tensor,
                     label_high: Optional[torch.Tensor],
                     size: Tuple[int, int],
                     radius: int = 5,
                     stride: int = 8,
                     ignore_index: int = 255) -> Dict[str, torch.Tensor]:
    """Affinity labels of all pairs of a feature grid, from the two CRF label maps.

    Args:
        label_low (torch.Tensor): (B, H, W) low-alpha labels at the input resolution.
        label_high (torch.Tensor, optional): (B, H, W) high-alpha labels; None when
            ``label_low`` is already the combined label.
        size (tuple[int, int]): (h, w) of the feature grid.
        radius (int): Pair radius on the grid. Defaults to 5 (PSA).
        stride (int): Input pixels per grid cell. Defaults to 8.
        ignore_index (int): Unknown value. Defaults to 255.

    Returns:
        dict[str, torch.Tensor]: ``bg``, ``fg``, ``neg`` bool (B, P), and ``index_from``,
        ``index_to`` int64 (P,), the pairs of :func:`radius_pairs`.
    """
    low = downsample_labels(label_low, size, stride, ignore_index)
    if label_high is None:
        grid = low
    else:
        high = downsample_labels(label_high, size, stride, ignore_index)
        grid = combine_crf_labels(low, high, ignore_index)
    index_from, index_to = radius_pairs(size[0], size[1], radius, device=grid.device)
    out = pair_affinity_labels(grid, index_from, index_to, ignore_index)
    out.update(index_from=index_from, index_to=index_to)
    return out
