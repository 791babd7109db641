"""Segmentation cross-entropy with background and foreground halves weighted equally."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class BackgroundForegroundCELoss(nn.Module):
    """ToCo's ``get_seg_loss``: 0.5 (CE over background pixels + CE over the others).

    Each half is the mean cross-entropy over its own labelled pixels of the batch.
    Deviation: a half without any pixel adds 0 here; in ToCo it is the mean over an empty
    set, NaN, which would reach the weights (only possible when a whole batch has no
    background or no foreground pixel).

    Args:
        loss_weight (float): Multiplier (ToCo: 0.1).
        ignore_index (int): Ignored label.
    """

    def __init__(self, loss_weight: float = 0.1, ignore_index: int = 255) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Args:
            logits (Tensor): (B, C + 1, H, W).
            label (Tensor): Long (B, H, W), 0 background, ``ignore_index`` ignored.

        Returns:
            Tensor: The weighted loss, a scalar.
        """
        ignore = label == self.ignore_index
        halves = []
        for part in (label == 0, (label != 0) & ~ignore):
            target = label.masked_fill(~part, self.ignore_index)
            ce = F.cross_entropy(logits, target, ignore_index=self.ignore_index,
                                 reduction='sum')
            halves.append(ce / part.sum().clamp(min=1).to(ce.dtype))
        return self.loss_weight * 0.5 * (halves[0] + halves[1])
