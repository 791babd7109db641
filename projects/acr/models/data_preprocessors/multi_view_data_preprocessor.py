"""Normalises, pads and batches single- or multi-view images."""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS


@MODELS.register_module()
class MultiViewDataPreprocessor(BaseDataPreprocessor):
    """Batches images given as (3, H, W) or as views (V, 3, H, W).

    Each image is converted to float, optionally BGR -> RGB, normalised, and padded at
    the bottom and right to the largest size in the batch rounded up to
    ``size_divisor`` (the patch size, so the patch grid covers the whole image).

    Args:
        mean (Sequence[float]): Per-channel mean, RGB order if ``bgr_to_rgb``.
        std (Sequence[float]): Per-channel standard deviation.
        bgr_to_rgb (bool): Flip the channel order (images are loaded as BGR).
        size_divisor (int): Padded sizes are multiples of it.
        pad_val (float): Value of padded pixels after normalisation.
        non_blocking (bool): Non-blocking host-to-device copies.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 size_divisor: int = 16,
                 pad_val: float = 0.0,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        self.register_buffer('mean', torch.tensor(mean).view(3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(3, 1, 1), persistent=False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size_divisor = size_divisor
        self.pad_val = pad_val

    def forward(self, data: Dict, training: bool = False) -> Dict:
        """Returns ``dict(inputs, data_samples)``.

        ``inputs`` has shape (B, 3, H, W) or (B, V, 3, H, W).
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        samples: Optional[list] = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        h = max(img.shape[-2] for img in inputs)
        w = max(img.shape[-1] for img in inputs)
        d = self.size_divisor
        ph, pw = math.ceil(h / d) * d, math.ceil(w / d) * d
        batch = []
        for img in inputs:  # one entry per image; sizes may differ before padding
            img = img.float()
            if self.bgr_to_rgb:
                img = img.flip(-3)
            img = (img - self.mean) / self.std
            img = F.pad(img, (0, pw - img.shape[-1], 0, ph - img.shape[-2]),
                        value=self.pad_val)
            batch.append(img)
        if samples is not None:
            for s in samples:
                s.set_metainfo(dict(batch_input_shape=(ph, pw), pad_shape=(ph, pw)))
        return dict(inputs=torch.stack(batch), data_samples=samples)
