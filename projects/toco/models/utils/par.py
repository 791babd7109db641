"""Pixel-adaptive refinement (PAR) of class maps by local image affinity, as in ToCo."""
import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

# The eight neighbours of a 3 x 3 window in ToCo's kernel order (row-major, centre left out).
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def dilated_neighbours(x: torch.Tensor, dilations: Sequence[int]) -> torch.Tensor:
    """The eight neighbours of every pixel at each dilation, borders replicated.

    Args:
        x (Tensor): (B, C, H, W).
        dilations (Sequence[int]): Neighbour distances in pixels.

    Returns:
        Tensor: (B, C, 8 * len(dilations), H, W); neighbour ``8 * i + k`` lies at offset
        ``_OFFSETS[k] * dilations[i]``.
    """
    h, w = x.shape[-2:]
    out = []
    for d in dilations:
        padded = F.pad(x, [d] * 4, mode='replicate')
        for dy, dx in _OFFSETS:
            out.append(padded[..., d + dy * d:d + dy * d + h, d + dx * d:d + dx * d + w])
    return torch.stack(out, dim=2)


@MODELS.register_module()
class PixelAdaptiveRefiner(nn.Module):
    """Propagates class maps along a local colour and position affinity (ToCo's PAR).

    For each pixel and each of its ``8 * len(dilations)`` neighbours the affinity is

        softmax_k(-mean_c(|I_c - I_ck| / (std_k(I_ck) + 1e-8) / w1) ** 2)
        + w2 * softmax_k(-(p_k / (std_k(p_k) + 1e-8) / w1) ** 2),

    ``I`` the image, ``p_k`` the neighbour's distance (``d`` along an axis, ``sqrt(2) d``
    on a diagonal) and the standard deviations unbiased over the neighbours. The maps are
    then replaced ``num_iter`` times by their affinity-weighted neighbour sums.

    Args:
        dilations (Sequence[int]): Neighbour distances (ToCo: 1, 2, 4, 8, 12, 24).
        num_iter (int): Propagation steps (ToCo: 10).
        w1 (float): Temperature of both affinity terms (ToCo: 0.3).
        w2 (float): Weight of the position term (ToCo: 0.01).
    """

    def __init__(self,
                 dilations: Sequence[int] = (1, 2, 4, 8, 12, 24),
                 num_iter: int = 10,
                 w1: float = 0.3,
                 w2: float = 0.01) -> None:
        super().__init__()
        if not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f'PixelAdaptiveRefiner: dilations must be positive, got '
                             f'{dilations}')
        self.dilations = tuple(int(d) for d in dilations)
        self.num_iter = int(num_iter)
        self.w1 = float(w1)
        self.w2 = float(w2)
        dist = [math.sqrt(2.0) if dy and dx else 1.0 for dy, dx in _OFFSETS]
        pos = torch.tensor([v * d for d in self.dilations for v in dist])
        self.register_buffer('pos', pos, persistent=False)

    def affinity(self, imgs: torch.Tensor) -> torch.Tensor:
        """Neighbour weights of every pixel, shape (B, 1, K, H, W), K = 8 x dilations."""
        nbrs = dilated_neighbours(imgs, self.dilations)  # (B, 3, K, H, W)
        diff = (nbrs - imgs.unsqueeze(2)).abs()
        std = nbrs.std(dim=2, keepdim=True)
        aff = -(diff / (std + 1e-8) / self.w1)**2
        aff = aff.mean(dim=1, keepdim=True).softmax(dim=2)
        pos = self.pos.to(imgs)
        pos_aff = (-(pos / (pos.std() + 1e-8) / self.w1)**2).softmax(dim=0)
        return aff + self.w2 * pos_aff.view(1, 1, -1, 1, 1)

    def forward(self, imgs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Refines the maps.

        Args:
            imgs (Tensor): Images (B, 3, H, W) (ToCo: RGB in [0, 1] at half resolution).
            masks (Tensor): Maps (B, C, h, w); resized to (H, W) bilinearly with
                ``align_corners=True`` first.

        Returns:
            Tensor: Refined maps (B, C, H, W).
        """
        masks = F.interpolate(masks, size=imgs.shape[-2:], mode='bilinear', align_corners=True)
        aff = self.affinity(imgs)
        for _ in range(self.num_iter):
            # One neighbour at a time: the (B, C, K, H, W) stack of all of them would be
            # K times the maps' memory.
            h, w = masks.shape[-2:]
            out = torch.zeros_like(masks)
            k = 0
            for d in self.dilations:
                padded = F.pad(masks, [d] * 4, mode='replicate')
                for dy, dx in _OFFSETS:
                    nbr = padded[..., d + dy * d:d + dy * d + h, d + dx * d:d + dx * d + w]
                    out = out + nbr * aff[:, :, k]
                    k += 1
            masks = out
        return masks
