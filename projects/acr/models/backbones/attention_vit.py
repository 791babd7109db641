"""A timm Vision Transformer that also returns every block's attention."""
import difflib
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from .class_token_block import class_token_block, supports_class_token_block

try:
    import timm
    from timm.models.vision_transformer import checkpoint_filter_fn
except ImportError:  # pragma: no cover - timm is a hard runtime requirement
    timm = None


class ViTOutput(NamedTuple):
    """What :class:`AttentionViT` returns.

    Attributes:
        cls_token (Tensor): Class token of the last block, shape (B, D).
        patch_tokens (Tensor, optional): Patch tokens of the last block, shape (B, N, D)
            with ``N = h * w``; None when the last block ran for the class token alone
            (``AttentionViT.forward(..., class_token_only=True)``).
        attns (list[Tensor]): Head-wise softmax attention of every block, each of shape
            (B, heads, T, T) with ``T = num_prefix_tokens + N``. They are part of the
            autograd graph, so gradients of any output w.r.t. them can be taken.
        grid (tuple[int, int]): Patch grid ``(h, w)``.
        num_prefix_tokens (int): Class (and distillation / register) tokens before the
            patches.
    """

    cls_token: torch.Tensor
    patch_tokens: Optional[torch.Tensor]
    attns: List[torch.Tensor]
    grid: Tuple[int, int]
    num_prefix_tokens: int

    def mean_attns(self) -> torch.Tensor:
        """Head-averaged attention of all blocks stacked, shape (B, L, T, T).

        The result is at least fp32: under bf16 autocast the attention arrives in bf16,
        and the consistency loss takes differences of these averages between views,
        which it should not round to bf16's three significant digits. The mean itself
        accumulates in fp32 (as every bf16 reduction does) and is cast afterwards, which
        copies a twelfth of what casting the head-wise attention would.
        """
        dtype = torch.promote_types(self.attns[0].dtype, torch.float32)
        return torch.stack([a.mean(dim=1).to(dtype) for a in self.attns], dim=1)


class AttentionRecorder(nn.Module):
    """Stands in for a timm ``Attention.attn_drop`` to observe the softmaxed attention.

    timm's non-fused attention path computes ``attn_drop(softmax(q @ k^T))``, so sitting
    in that slot sees the attention without editing timm. The recorder keeps the tensor
    (undropped, with its autograd history) until the owner collects it, and then applies
    the original dropout.

    Args:
        drop (nn.Module): The dropout module it replaces.
    """

    def __init__(self, drop: nn.Module) -> None:
        super().__init__()
        self.drop = drop
        self.attn: Optional[torch.Tensor] = None

    def forward(self, attn: torch.Tensor) -> torch.Tensor:
        self.attn = attn
        return self.drop(attn)

    def pop(self) -> torch.Tensor:
        """Returns the last recorded attention and forgets it (frees the memory)."""
        if self.attn is None:
            raise RuntimeError('no attention was recorded; was the block run with '
                               'fused attention?')
        attn, self.attn = self.attn, None
        return attn


def _check_arch(arch: str) -> None:
    if timm.is_model(arch):
        return
    candidates = timm.list_models('*vit*') + timm.list_models('*deit*')
    close = difflib.get_close_matches(arch, candidates, n=5, cutoff=0.5)
    hint = f' Did you mean one of {close}?' if close else ''
    raise KeyError(f"backbone arch '{arch}' is not a timm model.{hint} "
                   "See timm.list_models('*vit*') for the available names.")


@MODELS.register_module()
class AttentionViT(BaseModule):
    """Wraps an unmodified timm ViT and records every block's attention.

    Supported are timm's plain ViTs (``vit_base_patch16_384``, ``vit_small_patch16_224``,
    ``vit_tiny_patch16_224``, ...), the hybrid R50+ViT-B/16 (``vit_base_r50_s16_384``) and
    DeiT (``deit_base_patch16_384``, ``deit_base_distilled_patch16_384`` with two prefix
    tokens). The model is created with ``dynamic_img_size=True`` so any input size works
    (position embeddings are resampled), and with non-fused attention so the softmaxed
    attention can be observed; neither changes the network's function.

    Args:
        arch (str): timm model name.
        pretrained (bool): Load timm's pretrained weights from the hub. Ignored when
            ``checkpoint`` is given. Offline, this fails with a message that says to pass
            a local ``checkpoint`` instead.
        checkpoint (str, optional): Local weights: a ``.pth``/``.pt``/``.bin`` state
            dict (timm or mmengine layout), a ``.safetensors`` file or an original
            ``.npz`` ViT checkpoint. Position embeddings are resampled to the model's grid
            and classifier weights are dropped.
        final_norm (bool): Apply timm's final LayerNorm to the returned tokens. The
            official ACR classifier reads the class token *before* this norm and the
            norm gets no gradient, so the default is False; the norm's parameters are
            then frozen, which also keeps DDP free of unused parameters.
        drop_path_rate (float): Stochastic depth rate.
        timm_kwargs (dict, optional): Further arguments of ``timm.create_model``, e.g.
            ``dict(patch_size=8, img_size=96, depth=6)`` for small CPU models or
            ``dict(num_classes=1000)`` to keep timm's own classifier.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 arch: str = 'vit_base_patch16_384',
                 pretrained: bool = False,
                 checkpoint: Optional[str] = None,
                 final_norm: bool = False,
                 drop_path_rate: float = 0.0,
                 timm_kwargs: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if timm is None:
            raise ImportError('AttentionViT needs timm: pip install "timm>=1.0.15"')
        _check_arch(arch)
        kwargs = dict(num_classes=0, dynamic_img_size=True, drop_path_rate=drop_path_rate)
        kwargs.update(timm_kwargs or {})
        self.arch = arch
        self.vit = self._create(arch, pretrained and checkpoint is None, kwargs)
        if checkpoint is not None:
            self.load_checkpoint(checkpoint)
        if pretrained or checkpoint is not None:
            # The runner calls init_weights() before training, and mmengine's calls the
            # init_weights() of every child that has one: timm's would redraw every
            # weight. Marked initialised, the loaded weights survive it.
            self.vit.is_init = True

        self.final_norm = final_norm
        if not final_norm:
            self.vit.norm.requires_grad_(False)
        self.recorders = nn.ModuleList()
        for blk in self.vit.blocks:
            blk.attn.fused_attn = False
            recorder = AttentionRecorder(blk.attn.attn_drop)
            blk.attn.attn_drop = recorder
            self.recorders.append(recorder)

    @staticmethod
    def _create(arch: str, pretrained: bool, kwargs: Dict) -> nn.Module:
        if not pretrained:
            return timm.create_model(arch, pretrained=False, **kwargs)
        try:
            return timm.create_model(arch, pretrained=True, **kwargs)
        except Exception as exc:  # hub errors come in many types (HTTP, OSError, ...)
            raise RuntimeError(
                f"could not fetch pretrained weights for '{arch}' from the hub ({exc!r}). "
                'Without network access, download them elsewhere and set '
                "model.backbone.checkpoint='/path/to/weights' (with pretrained=False), "
                'or set HF_HUB_OFFLINE=0 and check the connection.') from exc

    @property
    def embed_dim(self) -> int:
        return self.vit.embed_dim

    @property
    def num_prefix_tokens(self) -> int:
        return self.vit.num_prefix_tokens

    @property
    def num_blocks(self) -> int:
        return len(self.vit.blocks)

    @property
    def patch_size(self) -> int:
        """Input pixels per patch token along each side (16 for the R50 hybrid too)."""
        embed = self.vit.patch_embed
        if hasattr(embed, 'feature_ratio'):  # hybrid: CNN stride x patch size
            return int(embed.feature_ratio[0] * embed.patch_size[0])
        return int(embed.patch_size[0])

    def load_checkpoint(self, path: str) -> None:
        """Loads local weights into the timm model (see the class docstring)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'backbone checkpoint not found: {path}')
        if path.endswith('.npz'):
            self.vit.load_pretrained(path)
            return
        if path.endswith('.safetensors'):
            from safetensors.torch import load_file
            state = load_file(path)
        else:
            state = torch.load(path, map_location='cpu', weights_only=True)
        for key in ('state_dict', 'model', 'module'):
            if isinstance(state, dict) and key in state and isinstance(state[key], dict):
                state = state[key]
        # mmengine checkpoints of a whole classifier carry this prefix.
        prefix = 'backbone.vit.'
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        state = checkpoint_filter_fn(state, self.vit)
        own = self.vit.state_dict()
        state = {k: v for k, v in state.items()
                 if k in own and v.shape == own[k].shape}
        missing, unexpected = self.vit.load_state_dict(state, strict=False)
        print_log(f'loaded backbone weights from {path}: {len(state)} tensors, '
                  f'missing {len(missing)} {missing[:5]}', logger='current')

    def forward(self,
                x: torch.Tensor,
                grad_from_block: int = 0,
                class_token_only: bool = False) -> ViTOutput:
        """Runs the ViT.

        Args:
            x (Tensor): Images, shape (B, 3, H, W); H and W should be multiples of the
                patch size (the data preprocessor pads them).
            grad_from_block (int): The patch embedding and the blocks before this index
                run without recording an autograd graph: their attention is returned
                without history, and gradients of the outputs reach back to this
                block's input only. GETAM differentiates the attention of the blocks
                from its start layer on, so it needs no graph of the earlier ones
                (which saves their activations and their share of the graph). 0, the
                default, records the whole graph (training).
            class_token_only (bool): Compute the last block for the class token alone
                (:func:`class_token_block`): its attention matrix is still computed for
                every query, but only the class token goes through the value product,
                projection and MLP, forward and backward. The class token and every
                gradient taken from it are unchanged; ``patch_tokens`` is then None, and
                the rows of the last block's attention other than the class token's
                have no autograd history (enough for class maps, not for the ACR loss,
                which differentiates every row). Blocks other than timm's plain
                ``Block`` are run whole.

        Returns:
            ViTOutput: tokens of the last block and the attention of every block.
        """
        vit = self.vit
        depth = len(vit.blocks)
        if not 0 <= grad_from_block <= depth:
            raise ValueError(f'grad_from_block must be in [0, {depth}], '
                             f'got {grad_from_block}')
        cls_only = class_token_only and supports_class_token_block(vit.blocks[-1])
        body = depth - 1 if cls_only else depth  # blocks run over every token
        split = min(grad_from_block, body)
        grad = torch.is_grad_enabled()
        with torch.set_grad_enabled(grad and grad_from_block == 0):
            tokens = vit.patch_embed(x)
            grid = tuple(tokens.shape[1:3]) if tokens.ndim == 4 else vit.patch_embed.grid_size
            tokens = vit._pos_embed(tokens)
            tokens = vit.patch_drop(tokens)
            tokens = vit.norm_pre(tokens)
            tokens = vit.blocks[:split](tokens)
        tokens = vit.blocks[split:body](tokens)
        if cls_only:
            with torch.set_grad_enabled(grad and grad_from_block < depth):
                tokens, _ = class_token_block(vit.blocks[-1], tokens, self.recorders[-1])
        if self.final_norm:
            tokens = vit.norm(tokens)
        attns = [rec.pop() for rec in self.recorders]
        prefix = vit.num_prefix_tokens
        return ViTOutput(
            cls_token=tokens[:, 0],
            patch_tokens=None if cls_only else tokens[:, prefix:],
            attns=attns,
            grid=(int(grid[0]), int(grid[1])),
            num_prefix_tokens=prefix)
