"""All-pairs consistency regularization (ACR) between the attention of two views."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ..utils import (affine_area_ratio, affine_token_correspondence, gather_pairs, gather_tokens,
                     resample_pairs, resample_tokens)


@MODELS.register_module()
class ACRLoss(nn.Module):
    """L1 consistency of activation intensity and all-pairs affinity between views.

    For every block's head-averaged attention ``A`` (shape (T, T), ``p`` prefix tokens):

    * intensity: the class token's attention over the patches, ``A[0, p:]`` (N,);
    * affinity: the patch-to-patch block ``A[p:, p:]`` (N, N).

    The second view's tokens are first put in the first view's order, then both terms
    are mean absolute differences over blocks, samples and entries. Two kinds of pairs:

    * a permutation of the tokens (``index``), e.g. the mirror of the paper's flip pair;
    * any crop / scale / flip pair (``view_affine``, the geometric map between the views
      that :class:`PairedViews` records): view two's attention is read at view one's
      token centres by bilinear interpolation, along the rows and the columns of the
      affinity block alike, and scaled along the attended-to axis by the token area
      ratio (attention is a distribution over tokens: at a larger scale the same mass is
      spread over more of them). Tokens of view one whose centre falls outside view two
      are left out of the means (a pair counts only when both of its tokens are shared).
      On a mirror pair this equals the permutation path.

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

    def forward(self,
                attn1: torch.Tensor,
                attn2: torch.Tensor,
                index: Optional[torch.Tensor],
                num_prefix_tokens: int = 1,
                view_affine: Optional[torch.Tensor] = None,
                grids: Optional[Tuple[Tuple[int, int], Tuple[int, int]]] = None
                ) -> Dict[str, torch.Tensor]:
        """Computes both consistency terms.

        Args:
            attn1 (Tensor): Head-averaged attention of view one, shape (B, L, T, T).
            attn2 (Tensor): Same for view two, shape (B, L, T2, T2).
            index (Tensor, optional): Long (B, N): token ``index[b, i]`` of view two
                matches token ``i`` of view one. Unused with ``view_affine``.
            num_prefix_tokens (int): Tokens before the patches (the class token first).
            view_affine (Tensor, optional): (B, 2, 3) map from view one's normalised
                coordinates to view two's (see :func:`affine_token_correspondence`).
            grids (tuple, optional): Token grids ``((h1, w1), (h2, w2))`` of the views;
                needed with ``view_affine``.

        Returns:
            dict[str, Tensor]: ``loss_intensity`` and ``loss_affinity``, weighted.
        """
        if self.layers is not None:
            attn1, attn2 = attn1[:, self.layers], attn2[:, self.layers]
        if view_affine is not None:
            if grids is None:
                raise ValueError('ACRLoss: view_affine needs the token grids of both views')
            return self._aligned(attn1, attn2, num_prefix_tokens, view_affine, grids)
        if index is None:
            raise ValueError('ACRLoss: give a token index or a view_affine')
        p = num_prefix_tokens
        int1, int2 = attn1[:, :, 0, p:], attn2[:, :, 0, p:]  # (B, L, N)
        int2 = gather_tokens(int2.transpose(1, 2), index).transpose(1, 2)
        aff1, aff2 = attn1[:, :, p:, p:], attn2[:, :, p:, p:]  # (B, L, N, N)
        aff2 = gather_pairs(aff2, index)
        w = self.loss_weight
        return dict(
            loss_intensity=w * self.intensity_weight * (int1 - int2).abs().mean(),
            loss_affinity=w * self.affinity_weight * (aff1 - aff2).abs().mean())

    def _aligned(self, attn1: torch.Tensor, attn2: torch.Tensor, p: int,
                 view_affine: torch.Tensor,
                 grids: Tuple[Tuple[int, int], Tuple[int, int]]) -> Dict[str, torch.Tensor]:
        """Both terms for a geometric pair: view two resampled onto view one's tokens."""
        grid1, grid2 = (tuple(int(v) for v in g) for g in grids)
        index, weight, valid = affine_token_correspondence(view_affine, grid1, grid2)
        weight = weight.to(attn2.dtype)
        ratio = affine_area_ratio(view_affine, grid1, grid2).to(attn2.dtype)  # (B,)
        int1 = attn1[:, :, 0, p:]  # (B, L, N1)
        int2 = resample_tokens(attn2[:, :, 0, p:].transpose(1, 2), index, weight)
        int2 = int2.transpose(1, 2) * ratio[:, None, None]
        aff1 = attn1[:, :, p:, p:]  # (B, L, N1, N1)
        aff2 = resample_pairs(attn2[:, :, p:, p:], index, weight) * ratio[:, None, None, None]
        mask = valid.to(attn1.dtype)  # (B, N1)
        pair_mask = mask[:, :, None] * mask[:, None, :]
        layers = attn1.shape[1]
        # Means over the shared tokens only; an image with none adds nothing.
        int_count = (mask.sum() * layers).clamp(min=1)
        aff_count = (pair_mask.sum() * layers).clamp(min=1)
        l_int = ((int1 - int2).abs() * mask[:, None]).sum() / int_count
        l_aff = ((aff1 - aff2).abs() * pair_mask[:, None]).sum() / aff_count
        w = self.loss_weight
        return dict(loss_intensity=w * self.intensity_weight * l_int,
                    loss_affinity=w * self.affinity_weight * l_aff)
