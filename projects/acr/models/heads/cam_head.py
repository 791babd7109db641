"""Class-token classifier with patch CAMs and GETAM class localisation maps."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..backbones.attention_vit import ViTOutput


@MODELS.register_module()
class CAMHead(BaseModule):
    """Linear classifier on the class token, and the maps derived from it.

    Args:
        in_channels (int): Token width ``D`` of the backbone.
        num_classes (int): Foreground classes ``C`` (background is not a class here).
        start_layer (int): First block whose attention gradients GETAM uses
            (10 of 12 in the paper).
        getam_mode (str): ``'grad_attn'`` weights each block's attention element-wise by
            the positive part of its gradient (GETAM); ``'grad'`` uses the positive
            gradient alone.
        refine_layers (Sequence[int], optional): Blocks whose patch-to-patch attention is
            summed into the affinity that refines the maps; all blocks by default.
        loss_weight (float): Weight of the multilabel soft-margin loss.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 start_layer: int = 10,
                 getam_mode: str = 'grad_attn',
                 refine_layers: Optional[Sequence[int]] = None,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[Dict] = dict(type='TruncNormal', layer='Linear',
                                                 std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        if getam_mode not in ('grad_attn', 'grad'):
            raise ValueError(f"getam_mode must be 'grad_attn' or 'grad', got {getam_mode!r}")
        self.num_classes = num_classes
        self.start_layer = start_layer
        self.getam_mode = getam_mode
        self.refine_layers = None if refine_layers is None else list(refine_layers)
        self.loss_weight = loss_weight
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, cls_token: torch.Tensor) -> torch.Tensor:
        """Class scores (logits), shape (B, C), from class tokens (B, D)."""
        return self.fc(cls_token)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Multilabel soft-margin loss.

        Args:
            logits (Tensor): (B, C).
            labels (Tensor): Multi-hot (B, C).
        """
        loss = F.multilabel_soft_margin_loss(logits, labels.to(logits.dtype))
        return dict(loss_cls=self.loss_weight * loss)

    def patch_cam(self, out: ViTOutput) -> torch.Tensor:
        """Classic CAM: the classifier applied to every patch token.

        Returns:
            Tensor: Non-negative maps, shape (B, C, h, w).
        """
        cam = out.patch_tokens @ self.fc.weight.t()  # (B, N, C)
        h, w = out.grid
        return cam.relu().transpose(1, 2).reshape(cam.shape[0], -1, h, w)

    def getam(self,
              logits: torch.Tensor,
              out: ViTOutput,
              class_ids: torch.Tensor,
              batched: bool = True,
              retain_graph: bool = False) -> torch.Tensor:
        """GETAM maps of the given classes for every image, from one backward pass.

        For each block ``l >= start_layer`` the gradient of a class score w.r.t. the
        head-wise attention ``A_l`` is taken; its positive part (times ``A_l`` in
        ``'grad_attn'`` mode) is averaged over heads and summed over blocks, and the
        class-token row over the patches is the map. With ``batched=True`` all classes
        share one backward pass: the vector-Jacobian products for the K one-hot
        cotangents are vectorised (``is_grads_batched``). Samples in the batch do not
        interact (the model is in eval mode), so summing a class score over the batch
        gives every image its own gradient.

        Args:
            logits (Tensor): Class scores (B, C) computed from ``out``.
            out (ViTOutput): Backbone output whose attentions produced ``logits``.
            class_ids (Tensor): Long (K,) classes to map.
            batched (bool): One vectorised backward (True) or one per class.
            retain_graph (bool): Keep the graph for further backward passes.

        Returns:
            Tensor: Maps of shape (K, B, N) over the patch tokens, non-negative.
        """
        attns = out.attns[self.start_layer:]
        if not attns:
            raise ValueError(f'start_layer={self.start_layer} leaves no block '
                             f'(the backbone has {len(out.attns)})')
        k = class_ids.numel()
        if batched:
            cotangents = logits.new_zeros((k, ) + logits.shape)
            cotangents[torch.arange(k), :, class_ids] = 1
            grads = torch.autograd.grad(
                logits, attns, grad_outputs=cotangents, is_grads_batched=True,
                retain_graph=retain_graph)
        else:
            per_class = [
                torch.autograd.grad(logits[:, c].sum(), attns,
                                    retain_graph=retain_graph or i < k - 1)
                for i, c in enumerate(class_ids.tolist())
            ]
            grads = [torch.stack(g) for g in zip(*per_class)]
        p = out.num_prefix_tokens
        cam = 0
        for attn, grad in zip(attns, grads):  # a dozen blocks at most
            weight = grad[..., 0, p:].clamp(min=0)  # (K, B, heads, N)
            if self.getam_mode == 'grad_attn':
                weight = weight * attn[None, ..., 0, p:]
            cam = cam + weight.mean(dim=2)
        return cam.detach()

    def affinity(self, out: ViTOutput) -> torch.Tensor:
        """Summed patch-to-patch attention of the refinement blocks, shape (B, N, N)."""
        p = out.num_prefix_tokens
        layers = self.refine_layers if self.refine_layers is not None else range(
            len(out.attns))
        return sum(out.attns[i].detach().mean(dim=1)[:, p:, p:] for i in layers)

    @staticmethod
    def refine(cams: torch.Tensor, affinity: torch.Tensor) -> torch.Tensor:
        """Propagates maps along the affinity: ``cam <- affinity @ cam``.

        Args:
            cams (Tensor): (K, B, N).
            affinity (Tensor): (B, N, N), row ``i`` = attention of token ``i``.

        Returns:
            Tensor: (K, B, N).
        """
        return torch.einsum('bij,kbj->kbi', affinity, cams)

    @staticmethod
    def to_grid(cams: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        """(..., N) -> (..., h, w)."""
        return cams.reshape(cams.shape[:-1] + tuple(grid))
