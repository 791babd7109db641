"""Class-token classifier with patch CAMs and GETAM class localisation maps."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..backbones.attention_vit import ViTOutput

# The official ``getam_func`` choices (OpenNLPLab/ACR_WSSS, DPT/ACR.py).
GETAM_MODES = ('grad', 'grad_s', 'cam_grad', 'cam_grad_s')


@MODELS.register_module()
class CAMHead(BaseModule):
    """Linear classifier on the class token, and the maps derived from it.

    Args:
        in_channels (int): Token width ``D`` of the backbone.
        num_classes (int): Foreground classes ``C`` (background is not a class here).
        start_layer (int): First block whose attention gradients GETAM uses
            (10 of 12 in the official run).
        getam_mode (str): How a block's head-wise attention ``A`` and the gradient ``G``
            of a class score w.r.t. it become that block's map (the official
            ``getam_func`` names; ``mean_h`` is the mean over heads):

            * ``'grad'``: ``mean_h(relu(G))``, what the official run uses;
            * ``'grad_s'``: ``mean_h(relu(G)) ** 2``;
            * ``'cam_grad'``: ``mean_h(relu(G * A))``, gradient x attention;
            * ``'cam_grad_s'``: ``mean_h(relu(G * A)) * mean_h(relu(G))``.
        refine_layers (Sequence[int], optional): Blocks whose patch-to-patch attention is
            summed into the affinity that refines the maps; all blocks by default.
        loss_weight (float): Weight of the multilabel soft-margin loss.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 start_layer: int = 10,
                 getam_mode: str = 'grad',
                 refine_layers: Optional[Sequence[int]] = None,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[Dict] = dict(type='TruncNormal', layer='Linear',
                                                 std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        if getam_mode not in GETAM_MODES:
            raise ValueError(f'getam_mode must be one of {GETAM_MODES}, got {getam_mode!r}')
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
        """Multilabel soft-margin loss, averaged over images and summed over views.

        The official objective adds the loss of each view
        (``MLSM(view 1) + MLSM(view 2)``), so with two views the classification term
        weighs twice what a mean over the flattened views would give it.

        Args:
            logits (Tensor): (B, C) for one view, or (B, V, C) for V views per image.
            labels (Tensor): Multi-hot (B, C).

        Returns:
            dict[str, Tensor]: ``loss_cls``, the weighted sum over views.
        """
        if logits.ndim == 2:
            logits = logits[:, None]
        # bf16 autocast hands over bf16 logits; the log-sigmoid terms are summed in fp32.
        logits = logits.float()
        b, v, c = logits.shape
        target = labels.to(logits.dtype)[:, None].expand(b, v, c)
        per_view = F.multilabel_soft_margin_loss(
            logits.transpose(0, 1).reshape(v * b, c), target.transpose(0, 1).reshape(v * b, c),
            reduction='none').view(v, b)
        return dict(loss_cls=self.loss_weight * per_view.mean(dim=1).sum())

    def patch_cam(self, out: ViTOutput) -> torch.Tensor:
        """Classic CAM: the classifier applied to every patch token.

        Returns:
            Tensor: Non-negative maps, shape (B, C, h, w).
        """
        if out.patch_tokens is None:
            raise ValueError('patch_cam needs the patch tokens of the last block; run the '
                             'backbone without class_token_only')
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
        head-wise attention ``A_l`` is taken and combined with ``A_l`` as ``getam_mode``
        says; the blocks' maps are summed, and the class-token row over the patches is
        the map. With ``batched=True`` all classes
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
            cam = cam + self._block_map(grad[..., 0, p:], attn[None, ..., 0, p:])
        return cam.detach()

    def _block_map(self, grad: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
        """One block's map from the class-token rows of gradient and attention.

        Args:
            grad (Tensor): (K, B, heads, N).
            attn (Tensor): (1, B, heads, N).

        Returns:
            Tensor: (K, B, N), non-negative.
        """
        positive_grad = grad.clamp(min=0).mean(dim=2)
        if self.getam_mode == 'grad':
            return positive_grad
        if self.getam_mode == 'grad_s':
            return positive_grad * positive_grad
        grad_attn = (grad * attn).clamp(min=0).mean(dim=2)
        if self.getam_mode == 'cam_grad':
            return grad_attn
        return grad_attn * positive_grad

    def affinity(self, out: ViTOutput) -> torch.Tensor:
        """Summed patch-to-patch attention of the refinement blocks, shape (B, N, N)."""
        p = out.num_prefix_tokens
        layers = self.refine_layers if self.refine_layers is not None else range(
            len(out.attns))
        # A constant of the refinement: summed without recording a graph.
        with torch.no_grad():
            return sum(out.attns[i].mean(dim=1)[:, p:, p:] for i in layers)

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
