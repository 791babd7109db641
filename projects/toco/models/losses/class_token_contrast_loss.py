"""Class-token contrast (CTC) between global and local views."""
import math

import torch
import torch.nn as nn
from mmseg.registry import MODELS


@MODELS.register_module()
class ClassTokenContrastLoss(nn.Module):
    """ToCo's class-token contrast (``CTCLoss_neg``), evaluated in log space.

    For image ``i``, teacher view ``t`` (the two global views) and student view ``j`` (the
    two global views, then the local crops), ``l_tj = exp(z_t . z_j / temperature)``.
    Views flagged 0 are negatives; with ``N_t = sum_neg l_tj``, ToCo's loss of image ``i`` is

        sum_t [sum_{j pos} -log(l_tj / (l_tj + N_t + 1e-4)) - log(1 / (1 + N_t + 1e-4))]
        / 2 / (#pos + 1e-4),

    averaged over the images (the second term comes from the ``for ... else`` of ToCo's
    loop, which runs after every loop). The same value is computed here with
    ``logaddexp`` / ``logsumexp`` of the exponents, which does not overflow when the
    projections have large dot products.

    Args:
        temperature (float): ToCo: 0.5 on VOC, 1.0 on COCO.
        loss_weight (float): Multiplier (ToCo: 0.5).
    """

    def __init__(self, temperature: float = 0.5, loss_weight: float = 0.5) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                flags: torch.Tensor) -> torch.Tensor:
        """Args:
            student (Tensor): (V * B, D) student projections, view-major (all images of
                view 0 first); V = 2 global + local views.
            teacher (Tensor): (2 * B, D) teacher projections of the global views.
            flags (Tensor): (B, V), 1 for a positive view, 0 for a negative one.

        Returns:
            Tensor: The weighted loss, a scalar.
        """
        b, v = flags.shape
        s = student.reshape(v, b, -1).transpose(0, 1)  # (B, V, D)
        t = teacher.reshape(2, b, -1).transpose(0, 1)  # (B, 2, D)
        z = torch.matmul(t, s.transpose(1, 2)) / self.temperature  # (B, 2, V)
        pos = (flags != 0)[:, None, :]
        neg_z = z.masked_fill(pos, float('-inf'))
        eps = torch.full_like(z[..., :1], math.log(1e-4))
        log_neg_eps = torch.logsumexp(torch.cat([neg_z, eps], dim=-1), dim=-1)  # log(N + eps)
        pos_terms = torch.logaddexp(z, log_neg_eps[..., None]) - z  # (B, 2, V)
        pos_sum = (pos_terms * pos.to(z.dtype)).sum(-1)
        else_term = torch.nn.functional.softplus(log_neg_eps)  # log(1 + N + eps)
        num_pos = pos.sum(-1).squeeze(1).to(z.dtype)  # (B,)
        per_image = (pos_sum + else_term).sum(-1) / 2 / (num_pos + 1e-4)
        return self.loss_weight * per_image.mean()
