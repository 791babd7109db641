"""Local crops centred in the uncertain regions of the class maps (ToCo's CTC views)."""
from typing import Optional, Tuple

import torch


def crops_from_roi(images: torch.Tensor,
                   roi: torch.Tensor,
                   num_crops: int = 8,
                   crop_size: int = 96,
                   neg_ratio: float = 0.2,
                   generator: Optional[torch.Generator] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Square crops of each image and their positive / negative flags (``crop_from_roi_neg``).

    Crop centres are drawn without replacement, uniformly among the pixels at least
    ``crop_size // 2`` from the border whose ROI value is at most 1 (background or
    uncertain; all such pixels when fewer than ``num_crops`` qualify). A crop whose ROI sum
    over its area (values 0 / 1 / 2, see :func:`cam_to_roi_mask`) is at most ``neg_ratio``
    is a negative.

    Args:
        images (Tensor): (B, 3, H, W).
        roi (Tensor): (B, H, W) ROI mask.
        num_crops (int): Crops per image (8).
        crop_size (int): Side of the crops (96).
        neg_ratio (float): Threshold of the negatives (0.2).
        generator (torch.Generator, optional): Random source; torch's global one by default.

    Returns:
        tuple[Tensor, Tensor]: crops (num_crops * B, 3, s, s), crop-major (all images'
        first crop first); flags (B, 2 + num_crops), 1 for the two global views and the
        positive crops, 0 for negative crops.
    """
    b, c, h, w = images.shape
    margin = crop_size // 2
    inner = roi[:, margin:h - margin, margin:w - margin]
    if inner.shape[-2] < 1 or inner.shape[-1] < 1 or inner[0].numel() < num_crops:
        raise ValueError(f'local crops of {crop_size} px need images larger than '
                         f'{crop_size} + enough centres, got {h}x{w}')
    crops = images.new_empty((num_crops, b, c, crop_size, crop_size))
    flags = images.new_ones((b, num_crops + 2))
    for i in range(b):
        cand = (inner[i] <= 1).nonzero()
        if cand.shape[0] < num_crops:
            cand = (inner[i] >= 0).nonzero()
        pick = cand[torch.randperm(cand.shape[0], generator=generator,
                                   device='cpu')[:num_crops].to(cand.device)]
        for j, (y, x) in enumerate(pick.tolist()):
            # ``(y, x)`` indexes the inner region: the crop spans [y, y + s) of the image,
            # centred at y + margin.
            crops[j, i] = images[i, :, y:y + crop_size, x:x + crop_size]
            window = roi[i, y:y + crop_size, x:x + crop_size]
            if window.sum() / (crop_size * crop_size) <= neg_ratio:
                flags[i, j + 2] = 0
    return crops.flatten(0, 1), flags
