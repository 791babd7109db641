"""DeepLab-LargeFOV segmentation head on the token grid, as ToCo's decoder."""
import torch
import torch.nn as nn
from mmseg.registry import MODELS


@MODELS.register_module()
class LargeFOVHead(nn.Module):
    """Two dilated 3 x 3 convolutions with ReLU and a 1 x 1 classifier, all bias-free.

    Args:
        in_channels (int): Token size.
        num_classes (int): Output classes, background included.
        channels (int): Hidden channels (ToCo: 512).
        dilation (int): Dilation and padding of the 3 x 3 convolutions (5).
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 512,
                 dilation: int = 5) -> None:
        super().__init__()
        self.conv6 = nn.Conv2d(in_channels, channels, 3, padding=dilation, dilation=dilation,
                               bias=False)
        self.conv7 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation,
                               bias=False)
        self.conv8 = nn.Conv2d(channels, num_classes, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, h, w) -> (B, num_classes, h, w) logits."""
        return self.conv8(self.relu(self.conv7(self.relu(self.conv6(x)))))
