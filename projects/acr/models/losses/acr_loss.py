"""All-pairs consistency regularization (ACR) between the attention of two views."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ..utils import gather_pairs, gather_tokens


@MODELS.register_module()
class ACRLoss(nn.Module):
    """L1 consistency of activation intensity and all-pairs affinity between views.

    For every block's head-averaged attention ``A`` (shape (T, T), ``p`` prefix tokens):

    * intensity: the class token's attention over the patches, ``A[0, p:]`` (N,);
    * affinity: the patch-to-patch block ``A[p:, p:]`` (N, N).

    The second view's tokens are first put in the first view's order (a per-sample
    index, e.g. the mirror for a flipped view), then both terms are mean absolute
    differences over blocks, samples and entries.

    Args:
        loss_weight (float): Multiplies both terms (alpha in the paper; 125 published).
        intensity_weight (float): Relative weight of the intensity term.
        affinity_weight (float): Relative weight of the affinity term.
        layers (Sequence[int], optional): Blocks to regularise; all by default.
    """

    def __init__(self,
                 loss_weight: float = 125.0,
                 intensity_weight: float = 1.0,
                 affinity_weight: float = 1.0,
                 layers: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.intensity_weight = intensity_weight
        self.affinity_weight = affinity_weight
        self.layers = None if layers is None else list(layers)

    def forward(self, attn1: torch.Tensor, attn2: torch.Tensor, index: torch.Tensor,
                num_prefix_tokens: int = 1) -> Dict[str, torch.Tensor]:
        """Computes both consistency terms.

        Args:
            attn1 (Tensor): Head-averaged attention of view one, shape (B, L, T, T).
            attn2 (Tensor): Same for view two, shape (B, L, T, T).
            index (Tensor): Long (B, N): token ``index[b, i]`` of view two matches
                token ``i`` of view one.
            num_prefix_tokens (int): Tokens before the patches (the class token first).

        Returns:
            dict[str, Tensor]: ``loss_intensity`` and ``loss_affinity``, weighted.
        """
        if self.layers is not None:
            attn1, attn2 = attn1[:, self.layers], attn2[:, self.layers]
        p = num_prefix_tokens
        int1, int2 = attn1[:, :, 0, p:], attn2[:, :, 0, p:]  # (B, L, N)
        int2 = gather_tokens(int2.transpose(1, 2), index).transpose(1, 2)
        aff1, aff2 = attn1[:, :, p:, p:], attn2[:, :, p:, p:]  # (B, L, N, N)
        aff2 = gather_pairs(aff2, index)
        w = self.loss_weight
        return dict(
            loss_intensity=w * self.intensity_weight * (int1 - int2).abs().mean(),
            loss_affinity=w * self.affinity_weight * (aff1 - aff2).abs().mean())
