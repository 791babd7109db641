"""Patch-token contrast (PTC): final-token similarity against pseudo-label affinity."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class PatchTokenContrastLoss(nn.Module):
    """ToCo's masked patch-token contrast (``get_masked_ptc_loss``).

    With ``S = |cos|`` of every pair of token features, ``P`` the pairs of one pseudo label
    and ``Q`` the pairs of two different ones (ignored tokens and the diagonal in neither),

        loss = 0.5 * (1 - sum_P S / (|P| + 1)) + 0.5 * sum_Q S / (|Q| + 1),

    the sums running over the whole batch.

    Args:
        loss_weight (float): Multiplier (ToCo: 0.2).
    """

    def __init__(self, loss_weight: float = 0.2) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, tokens: torch.Tensor, aff_mask: torch.Tensor) -> torch.Tensor:
        """Args:
            tokens (Tensor): (B, D, h, w) token features (ToCo: the final tokens).
            aff_mask (Tensor): (B, N, N) targets from :func:`label_to_aff_mask`.

        Returns:
            Tensor: The weighted loss, a scalar.
        """
        x = F.normalize(tokens.flatten(2), p=2, dim=1, eps=1e-8)  # (B, D, N)
        sim = torch.matmul(x.transpose(1, 2), x).abs()
        pos = (aff_mask == 1).to(sim.dtype)
        neg = (aff_mask == 0).to(sim.dtype)
        loss = 0.5 * (1 - (pos * sim).sum() / (pos.sum() + 1)) \
            + 0.5 * (neg * sim).sum() / (neg.sum() + 1)
        return self.loss_weight * loss
