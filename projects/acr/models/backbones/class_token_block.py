"""A timm transformer block computed for the class token alone.

After the last block only the class token reaches the classifier, yet a plain forward
runs that block's attention output, projection and MLP for every token, and a backward
from the class scores runs them again for every token (vectorised over the classes in
GETAM). Here the block's attention matrix is still computed for all queries, because
the affinity refinement reads its patch-to-patch part, but only the class token's row
is part of the autograd graph and only the class token goes on through the value
product, the projection, the layer scale, the residual and the MLP.

This re-implements the non-fused path of timm's ``Attention.forward`` and
``Block.forward`` (timm 1.0) from the block's own modules, so weights, options
(``qk_norm``, ``scale_norm``, gating, layer scale, drop path) and their order are
timm's; ``tests/models/test_class_token_block.py`` checks it against timm's own block
on every published architecture.
"""
from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn

try:
    from timm.models.vision_transformer import Attention, Block
except ImportError:  # pragma: no cover - timm is a hard runtime requirement
    Attention = Block = None


def supports_class_token_block(block: nn.Module) -> bool:
    """Whether ``block`` is exactly timm's ``Block`` with timm's ``Attention``.

    Subclasses and other block types (parallel blocks, post-norm blocks, ...) may compute
    something else; they are run whole instead.
    """
    return Block is not None and type(block) is Block and type(block.attn) is Attention


def class_token_block(
    block: nn.Module,
    x: torch.Tensor,
    record: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Runs a timm ``Block`` on ``x`` and returns its class-token output and attention.

    Args:
        block (nn.Module): A timm ``Block`` (see :func:`supports_class_token_block`).
        x (Tensor): Tokens entering the block, shape (B, T, D), the class token first.
        record (Callable, optional): Called with the head-wise attention (B, heads, T, T)
            in place of the attention's ``attn_drop`` (as :class:`AttentionRecorder`
            sits there); its result feeds the value product. None applies ``attn_drop``.

    Returns:
        tuple[Tensor, Tensor]: The class token after the block, shape (B, 1, D), equal to
        ``block(x)[:, :1]``; and the softmaxed attention (B, heads, T, T) of every query.
        Only the class token's row (``[:, :, 0]``) has an autograd history: gradients of
        anything computed from the class token reach the other rows as zeros anyway,
        and the other rows are read without one (the affinity refinement).
    """
    if not supports_class_token_block(block):
        raise TypeError(f'class_token_block needs timm Block with timm Attention, got '
                        f'{type(block).__name__} with {type(block.attn).__name__}')
    attn_mod = block.attn
    b, t, _ = x.shape
    h = block.norm1(x)
    qkv = attn_mod.qkv(h).reshape(b, t, 3, attn_mod.num_heads, attn_mod.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, T, head_dim)
    q, k = attn_mod.q_norm(q), attn_mod.k_norm(k)
    q = q * attn_mod.scale
    k_t = k.transpose(-2, -1)
    cls_attn = (q[:, :, :1] @ k_t).softmax(dim=-1)  # (B, heads, 1, T)
    with torch.no_grad():
        other_attn = (q[:, :, 1:] @ k_t).softmax(dim=-1)
    attn = torch.cat([cls_attn, other_attn], dim=2)
    used = record(attn) if record is not None else attn_mod.attn_drop(attn)
    out = used[:, :, :1] @ v  # (B, heads, 1, head_dim)
    out = out.transpose(1, 2).reshape(b, 1, attn_mod.attn_dim)
    out = attn_mod.norm(out)
    if attn_mod.gate is not None:
        out = out * attn_mod.gate(h[:, :1]).sigmoid()
    out = attn_mod.proj_drop(attn_mod.proj(out))
    cls = x[:, :1] + block.drop_path1(block.ls1(out))
    cls = cls + block.drop_path2(block.ls2(block.mlp(block.norm2(cls))))
    return cls, attn
