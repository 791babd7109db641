"""AffinityNet's three-part loss (PSA): pull same-class pairs together, push others apart."""
from typing import Dict

import torch
import torch.nn as nn
from mmseg.registry import MODELS


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """Cross entropy of predicted affinities against the pair labels, balanced per kind.

    Each kind of pair is averaged over its own pairs, so that the many background pairs
    do not drown the rest, and the three means are weighted as in PSA:

    ``bg/4 + fg/4 + neg/2`` with ``bg = mean(-log a)`` over background-same pairs,
    ``fg = mean(-log a)`` over foreground-same pairs and ``neg = mean(-log(1 - a))`` over
    different pairs. A kind without pairs in the batch contributes 0.

    Args:
        bg_weight (float): Weight of the background-same term. Defaults to 0.25.
        fg_weight (float): Weight of the foreground-same term. Defaults to 0.25.
        neg_weight (float): Weight of the different-pairs term. Defaults to 0.5.
        eps (float): Keeps the logarithms finite. Defaults to 1e-5 (PSA).
    """

    def __init__(self, bg_weight: float = 0.25, fg_weight: float = 0.25,
                 neg_weight: float = 0.5, eps: float = 1e-5) -> None:
        super().__init__()
        self.weights = dict(bg=float(bg_weight), fg=float(fg_weight), neg=float(neg_weight))
        self.eps = float(eps)

    def forward(self, affinity: torch.Tensor, bg: torch.Tensor, fg: torch.Tensor,
                neg: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The weighted terms.

        Args:
            affinity (torch.Tensor): (B, P) predicted affinities in (0, 1].
            bg (torch.Tensor): bool (B, P) background-same pairs.
            fg (torch.Tensor): bool (B, P) foreground-same pairs.
            neg (torch.Tensor): bool (B, P) different pairs.

        Returns:
            dict[str, torch.Tensor]: ``loss_aff_bg``, ``loss_aff_fg``, ``loss_aff_neg``
            (weighted scalars, summed by mmengine) and the pair counts ``num_bg``,
            ``num_fg``, ``num_neg`` (for the log; not losses).
        """
        pos_nll = -torch.log(affinity + self.eps)
        neg_nll = -torch.log(1.0 + self.eps - affinity)
        out = {}
        for name, mask, nll in (('bg', bg, pos_nll), ('fg', fg, pos_nll), ('neg', neg, neg_nll)):
            mask = mask.to(nll.dtype)
            count = mask.sum()
            # clamp(min=1): an empty kind gives 0 (with zero gradient), not 0/0.
            out[f'loss_aff_{name}'] = self.weights[name] * (nll * mask).sum() / count.clamp(min=1)
            out[f'num_{name}'] = count.detach()
        return out
