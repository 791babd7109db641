"""The ViT encoder as ToCo runs it: frozen position embedding, an auxiliary block output."""
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from projects.acr.models.backbones import AttentionViT


class ToCoViTOutput(NamedTuple):
    """What :class:`ToCoViT` returns.

    Attributes:
        cls_token (Tensor): (B, D) class token after the final LayerNorm.
        patch_tokens (Tensor): (B, N, D) patch tokens after the final LayerNorm.
        aux_tokens (Tensor): (B, N, D) patch tokens of block ``aux_layer`` (before any
            norm, unless it is the last block).
        attns (list[Tensor]): (B, heads, T, T) softmax attention of every block when the
            encoder records it, else empty.
        grid (tuple[int, int]): Patch grid ``(h, w)``.
        num_prefix_tokens (int): Tokens before the patches.
    """

    cls_token: torch.Tensor
    patch_tokens: torch.Tensor
    aux_tokens: torch.Tensor
    attns: List[torch.Tensor]
    grid: Tuple[int, int]
    num_prefix_tokens: int

    def mean_attns(self) -> torch.Tensor:
        """Head-averaged attention of all blocks, (B, L, T, T), at least fp32."""
        dtype = torch.promote_types(self.attns[0].dtype, torch.float32)
        return torch.stack([a.mean(dim=1).to(dtype) for a in self.attns], dim=1)


@MODELS.register_module()
class ToCoViT(AttentionViT):
    """A timm ViT run the way ToCo's ``VisionTransformer.forward_features`` runs it.

    Differences from :class:`AttentionViT` (whose model creation and weight loading it
    reuses): the position embedding is frozen (``requires_grad=False``) and resized to the
    input's patch grid by bicubic interpolation without antialiasing (timm's dynamic size
    antialiases when shrinking, e.g. for the 96 px local crops); the final LayerNorm is
    applied (classifier and contrast read normed tokens); block ``aux_layer``'s patch
    tokens are returned for the auxiliary classifier.

    Args:
        arch (str): timm name (ToCo: ``deit_base_patch16_224.fb_in1k``,
            ``vit_base_patch16_224.orig_in21k_ft_in1k``).
        aux_layer (int): Block of the auxiliary tokens, Python indexing (ToCo: -3 VOC, 9
            COCO; the same block of a 12-block ViT).
        record_attention (bool): Record every block's attention (the ACR loss needs it).
            Off, the blocks use timm's fused attention.
        pretrained, checkpoint, drop_path_rate, timm_kwargs, init_cfg: As
            :class:`AttentionViT`.
    """

    def __init__(self,
                 arch: str = 'deit_base_patch16_224.fb_in1k',
                 aux_layer: int = -3,
                 record_attention: bool = False,
                 pretrained: bool = False,
                 checkpoint: Optional[str] = None,
                 drop_path_rate: float = 0.0,
                 timm_kwargs: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(arch=arch, pretrained=pretrained, checkpoint=checkpoint,
                         final_norm=True, drop_path_rate=drop_path_rate,
                         timm_kwargs=timm_kwargs, init_cfg=init_cfg)
        vit = self.vit
        if vit.num_prefix_tokens != 1 or getattr(vit, 'no_embed_class', False) \
                or getattr(vit, 'cls_token', None) is None:
            raise ValueError(f"ToCoViT: '{arch}' must have one class token with its own "
                             'position embedding, as ToCo\'s ViT and DeiT')
        depth = len(vit.blocks)
        if not -depth <= aux_layer < depth:
            raise ValueError(f'ToCoViT: aux_layer {aux_layer} is out of range for {depth} '
                             'blocks')
        self.aux_layer = aux_layer % depth
        vit.pos_embed.requires_grad_(False)
        self.record_attention = record_attention
        if not record_attention:
            for blk, rec in zip(vit.blocks, self.recorders):
                blk.attn.attn_drop = rec.drop
                blk.attn.fused_attn = True
            self.recorders = torch.nn.ModuleList()

    def _pos_embed(self, grid: Tuple[int, int]) -> torch.Tensor:
        """Position embedding (1, 1 + h * w, D) resized as ToCo's ``prepare_tokens``."""
        pos = self.vit.pos_embed
        gh, gw = self.vit.patch_embed.grid_size
        if (gh, gw) == tuple(grid):
            return pos
        patch = pos[:, 1:].reshape(1, gh, gw, -1).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, size=grid, mode='bicubic', align_corners=False)
        return torch.cat([pos[:, :1], patch.flatten(2).transpose(1, 2)], dim=1)

    def forward(self, x: torch.Tensor, grad_from_block: int = 0) -> ToCoViTOutput:
        """Runs the encoder.

        Args:
            x (Tensor): (B, 3, H, W); a border that does not fill a patch is cut off, as
                the strided patch convolution does.
            grad_from_block (int): Unused (the signature of :class:`AttentionViT`).

        Returns:
            ToCoViTOutput: Final and auxiliary tokens, attention.
        """
        vit = self.vit
        p = self.patch_size
        h, w = x.shape[-2] // p * p, x.shape[-1] // p * p
        if (h, w) != tuple(x.shape[-2:]):
            x = x[..., :h, :w]  # what ToCo's strided patch convolution reads
        tokens = vit.patch_embed(x)
        if tokens.ndim == 4:  # NHWC with dynamic image size
            grid = (int(tokens.shape[1]), int(tokens.shape[2]))
            tokens = tokens.flatten(1, 2)
        else:
            grid = tuple(int(v) for v in vit.patch_embed.grid_size)
        cls = vit.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self._pos_embed(grid)
        tokens = vit.norm_pre(vit.patch_drop(vit.pos_drop(tokens)))
        aux = None
        for i, blk in enumerate(vit.blocks):
            tokens = blk(tokens)
            if i == self.aux_layer:
                aux = tokens
        tokens = vit.norm(tokens)
        if self.aux_layer == len(vit.blocks) - 1:
            aux = tokens
        attns = [rec.pop() for rec in self.recorders]
        return ToCoViTOutput(cls_token=tokens[:, 0], patch_tokens=tokens[:, 1:],
                             aux_tokens=aux[:, 1:], attns=attns, grid=grid,
                             num_prefix_tokens=1)
