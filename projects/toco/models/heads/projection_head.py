"""DINO-style projection head of ToCo's class-token contrast (its ``CTCHead``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


class WeightNormLinear(nn.Module):
    """A bias-free linear layer with weight normalisation, ``W = g * v / ||v||`` per row.

    The parameters are named as torch's legacy ``weight_norm`` names them
    (``weight_g`` (out, 1), ``weight_v`` (out, in)), so ToCo's state dicts map one to one.

    Args:
        in_features (int): Input size.
        out_features (int): Output size.
        fix_norm (bool): Keep ``g`` at 1 (``requires_grad=False``), ToCo's
            ``norm_last_layer``.
    """

    def __init__(self, in_features: int, out_features: int, fix_norm: bool = True) -> None:
        super().__init__()
        init = nn.Linear(in_features, out_features, bias=False)  # torch's default init
        self.weight_v = nn.Parameter(init.weight.detach().clone())
        self.weight_g = nn.Parameter(torch.ones(out_features, 1), requires_grad=not fix_norm)

    @property
    def weight(self) -> torch.Tensor:
        return self.weight_g * self.weight_v / self.weight_v.norm(dim=1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


@MODELS.register_module()
class ProjectionHead(nn.Module):
    """MLP -> L2 normalisation -> weight-normalised linear layer.

    Args:
        in_dim (int): Token size.
        out_dim (int): Output size (ToCo: 1024).
        num_layers (int): Linear layers of the MLP (3).
        hidden_dim (int): Hidden size (2048).
        bottleneck_dim (int): MLP output size (256).
        norm_last_layer (bool): Fix the last layer's norms at 1 (True).
    """

    def __init__(self,
                 in_dim: int,
                 out_dim: int = 1024,
                 num_layers: int = 3,
                 hidden_dim: int = 2048,
                 bottleneck_dim: int = 256,
                 norm_last_layer: bool = True) -> None:
        super().__init__()
        num_layers = max(int(num_layers), 1)
        if num_layers == 1:
            self.mlp = nn.Linear(in_dim, bottleneck_dim)
        else:
            layers = [nn.Linear(in_dim, hidden_dim), nn.GELU()]
            for _ in range(num_layers - 2):
                layers += [nn.Linear(hidden_dim, hidden_dim), nn.GELU()]
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
            self.mlp = nn.Sequential(*layers)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        self.last_layer = WeightNormLinear(bottleneck_dim, out_dim, fix_norm=norm_last_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, out_dim)."""
        return self.last_layer(F.normalize(self.mlp(x), dim=-1, p=2))


def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """``t <- momentum * t + (1 - momentum) * s`` for every parameter pair (no gradients)."""
    with torch.no_grad():
        for p_t, p_s in zip(teacher.parameters(), student.parameters()):
            p_t.mul_(momentum).add_(p_s.detach(), alpha=1.0 - momentum)
