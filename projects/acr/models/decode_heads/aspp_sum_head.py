"""DeepLabV2's classifier: atrous spatial pyramid pooling with summed class scores."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class ASPPSumHead(BaseDecodeHead):
    """Parallel dilated 3x3 convolutions straight to class scores, summed.

    This is the DeepLabV2 (ASPP-L) classifier used by the stage-2 DeepLabV2-R101 of
    weakly supervised segmentation papers: each branch is one 3x3 convolution with its own
    dilation mapping the backbone features to class logits, and the logits of all branches
    are added. Unlike mmseg's ``ASPPHead`` (DeepLabV3) there is no image pooling branch,
    no concatenation, no bottleneck, no normalisation and no activation: the head is
    linear in its input. ``norm_cfg`` and ``act_cfg`` are therefore not used, and there
    is no ``conv_seg`` (each branch is its own classifier), so every parameter gets a
    gradient (no unused parameters under DDP).

    Args:
        in_channels (int): Channels of the input feature map.
        dilations (Sequence[int]): Dilation (and padding) of each branch. Defaults to
            ``(6, 12, 18, 24)``, DeepLabV2's ASPP-L.
        dropout_ratio (float): Channel dropout on the input features before the branches
            during training. Defaults to 0 (DeepLabV2-ResNet has none).
        init_cfg (dict | list[dict], optional): Initialisation. Defaults to normal
            weights with std 0.01 and zero biases for the branches, as in DeepLabV2.
        **kwargs: Other arguments of :class:`BaseDecodeHead` (``num_classes``,
            ``in_index``, ``loss_decode``, ``align_corners``, ``conv_cfg``, ...),
            except ``channels``: the head has no hidden layer.
    """

    def __init__(self,
                 in_channels: int,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 dropout_ratio: float = 0.0,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', std=0.01, bias=0.0, override=dict(name='aspp_branches')),
                 **kwargs) -> None:
        if 'channels' in kwargs:
            raise ValueError('ASPPSumHead: `channels` is not an argument; the branches map '
                             f'the {in_channels} input channels straight to class scores')
        dilations = tuple(int(d) for d in dilations)
        if not dilations or min(dilations) < 1:
            raise ValueError(f'ASPPSumHead: dilations must be a non-empty sequence of '
                             f'positive integers, got {dilations}')
        if not isinstance(in_channels, int):
            raise ValueError('ASPPSumHead reads one feature map: in_channels must be an '
                             f'int, got {in_channels!r}')
        # ``channels`` only sizes BaseDecodeHead's 1x1 classifier, which is dropped below.
        super().__init__(in_channels, channels=in_channels, dropout_ratio=dropout_ratio,
                         init_cfg=init_cfg, **kwargs)
        del self.conv_seg
        self.dilations = dilations
        self.aspp_branches = nn.ModuleList(
            build_conv_layer(self.conv_cfg, self.in_channels, self.out_channels,
                             kernel_size=3, padding=d, dilation=d, bias=True)
            for d in dilations)

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class logits at the resolution of the selected feature map.

        Args:
            inputs (tuple[Tensor]): Multi-level features; ``in_index`` picks one of shape
                (B, in_channels, H, W).

        Returns:
            Tensor: Logits of shape (B, out_channels, H, W), the sum over the branches.
        """
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        out = self.aspp_branches[0](x)
        for branch in self.aspp_branches[1:]:
            out = out + branch(x)
        return out

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Not available: the branches are the classifier (see :meth:`forward`)."""
        raise NotImplementedError('ASPPSumHead has no separate classifier; use forward()')
