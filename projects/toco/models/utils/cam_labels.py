"""Class maps -> pixel labels, ROI masks and affinity targets, with ToCo's thresholds."""
from typing import Optional

import torch
import torch.nn.functional as F

from .par import PixelAdaptiveRefiner


def box_mask(img_box: torch.Tensor, size) -> torch.Tensor:
    """Boolean mask of each image's valid box.

    Like slicing ``[y0:y1, x0:x1]`` (coordinates past the edge are clipped), so a box given
    in pixels on a smaller grid covers what the same slice would.

    Args:
        img_box (Tensor): (B, 4) integer ``(y0, y1, x0, x1)``.
        size (tuple[int, int]): ``(H, W)`` of the mask.

    Returns:
        Tensor: Bool (B, H, W).
    """
    box = torch.as_tensor(img_box).long()
    dev = box.device
    rows = torch.arange(size[0], device=dev)[None, :, None]
    cols = torch.arange(size[1], device=dev)[None, None, :]
    y0, y1, x0, x1 = (box[:, i, None, None] for i in range(4))
    return (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)


def valid_cams(cams: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Maps of the annotated classes, zero elsewhere: (B, C, H, W) * (B, C)."""
    return cams * labels[:, :, None, None].to(cams.dtype)


def cam_to_label(cams: torch.Tensor,
                 labels: torch.Tensor,
                 bkg_thr: float,
                 high_thr: Optional[float] = None,
                 low_thr: Optional[float] = None,
                 ignore_mid: bool = False,
                 img_box: Optional[torch.Tensor] = None,
                 ignore_index: int = 255) -> torch.Tensor:
    """Pixel labels from class maps (ToCo's ``cam_to_label``).

    The strongest annotated class of each pixel (labels ``1..C``, 0 the background) where
    its map exceeds ``bkg_thr``. With ``ignore_mid`` values in ``(low_thr, high_thr]``
    become ``ignore_index`` and values at or below ``low_thr`` background. Pixels outside
    ``img_box`` (the part of a padded crop that shows the image) are ignored.

    Args:
        cams (Tensor): (B, C, H, W) maps in [0, 1], C without the background.
        labels (Tensor): (B, C) multi-hot image labels.
        bkg_thr (float): Background threshold (ToCo: 0.5 VOC, 0.45 COCO).
        high_thr (float, optional): Upper threshold of the uncertain band (0.7 / 0.65).
        low_thr (float, optional): Lower threshold of the uncertain band (0.25).
        ignore_mid (bool): Ignore the uncertain band.
        img_box (Tensor, optional): (B, 4) ``(y0, y1, x0, x1)`` of the valid region.
        ignore_index (int): Label of ignored pixels.

    Returns:
        Tensor: Long (B, H, W).
    """
    value, label = valid_cams(cams, labels).max(dim=1)
    label = label + 1
    label[value <= bkg_thr] = 0
    if ignore_mid:
        if high_thr is None or low_thr is None:
            raise ValueError('cam_to_label: ignore_mid needs high_thr and low_thr')
        label[value <= high_thr] = ignore_index
        label[value <= low_thr] = 0
    if img_box is not None:
        inside = box_mask(img_box.to(label.device), label.shape[-2:])
        label = torch.where(inside, label, torch.full_like(label, ignore_index))
    return label


def cam_to_roi_mask(cams: torch.Tensor, labels: torch.Tensor, high_thr: float,
                    low_thr: float) -> torch.Tensor:
    """Confidence regions of the maps (ToCo's ``cam_to_roi_mask2``).

    Returns:
        Tensor: Long (B, H, W): 0 where the strongest annotated map is at most
        ``low_thr`` (background), 2 where it is at least ``high_thr`` (foreground),
        1 in between (uncertain).
    """
    value = valid_cams(cams, labels).max(dim=1).values
    roi = torch.ones_like(value, dtype=torch.long)
    roi[value <= low_thr] = 0
    roi[value >= high_thr] = 2
    return roi


def label_to_aff_mask(label: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Pairwise affinity targets from token labels (ToCo's ``label_to_aff_mask``).

    Args:
        label (Tensor): (B, h, w) labels on the token grid.
        ignore_index (int): Ignored label.

    Returns:
        Tensor: Long (B, N, N), N = h * w: 1 where both tokens have the same label, 0
        where they differ, ``ignore_index`` where either is ignored and on the diagonal.
    """
    flat = label.flatten(1)
    aff = (flat[:, :, None] == flat[:, None, :]).long()
    ignored = flat == ignore_index
    aff[ignored[:, :, None] | ignored[:, None, :]] = ignore_index
    n = flat.shape[1]
    aff[:, torch.arange(n), torch.arange(n)] = ignore_index
    return aff


def refine_cams_with_background(par: PixelAdaptiveRefiner,
                                images: torch.Tensor,
                                cams: torch.Tensor,
                                labels: torch.Tensor,
                                high_thr: float,
                                low_thr: float,
                                img_box: torch.Tensor,
                                ignore_index: int = 255,
                                down_scale: int = 2) -> torch.Tensor:
    """Pseudo labels from class maps refined by PAR (ToCo's ``refine_cams_with_bkg_v2``).

    The maps get a constant background map, once at ``high_thr`` and once at ``low_thr``;
    each set is resized to ``1 / down_scale`` of the image, softmaxed over the background
    and the annotated classes, refined by PAR on the resized image, resized back and
    argmaxed. A pixel is background where both agree on it, ignored where only the high
    background says background, else the class of the high-background labelling.

    ToCo loops over the images and refines the annotated channels only; here all images
    run as one batch over the ``K`` largest number of annotated classes (the missing
    channels of an image are zero after the softmax and stay zero through PAR, which is a
    per-channel linear propagation), which gives the same labels.

    Args:
        par (PixelAdaptiveRefiner): The refiner.
        images (Tensor): (B, 3, H, W) RGB images in [0, 1].
        cams (Tensor): (B, C, H, W) maps of the annotated classes (others zero).
        labels (Tensor): (B, C) multi-hot image labels.
        high_thr (float): High background score (ToCo: 0.7 VOC, 0.65 COCO).
        low_thr (float): Low background score (0.25).
        img_box (Tensor): (B, 4) valid region; outside it the label is ``ignore_index``.
        ignore_index (int): Ignored label.
        down_scale (int): Resolution divisor of the refinement (2).

    Returns:
        Tensor: Long (B, H, W) labels, 0 background, ``c + 1`` class ``c``.
    """
    b, _, h, w = images.shape
    small = (h // down_scale, w // down_scale)
    small_imgs = F.interpolate(images, size=small, mode='bilinear', align_corners=False)
    # Channels to refine per image: the background, then the annotated classes in order;
    # images with fewer classes are padded with a channel that the softmax zeroes.
    keys = torch.cat([labels.new_ones(b, 1), labels], dim=1) > 0  # (B, 1 + C)
    k = int(keys.sum(1).max())
    order = torch.sort((~keys).to(torch.uint8), dim=1, stable=True).indices[:, :k]
    present = keys.gather(1, order)  # (B, K)
    label_maps = []
    for thr in (high_thr, low_thr):
        bkg = torch.full((b, 1, h, w), float(thr), device=cams.device, dtype=cams.dtype)
        with_bkg = torch.cat([bkg, cams], dim=1)
        with_bkg = F.interpolate(with_bkg, size=small, mode='bilinear', align_corners=False)
        picked = with_bkg.gather(1, order[:, :, None, None].expand(-1, -1, *small))
        picked = picked.masked_fill(~present[:, :, None, None], float('-inf'))
        label_maps.append(picked.softmax(dim=1))
    # Both backgrounds in one pass of the refiner.
    refined = par(small_imgs.repeat(2, 1, 1, 1), torch.cat(label_maps, dim=0))
    refined = F.interpolate(refined, size=(h, w), mode='bilinear', align_corners=False)
    choice = refined.argmax(dim=1)  # (2B, H, W) index into ``order``
    full = order.repeat(2, 1).gather(1, choice.flatten(1)).view(2 * b, h, w)
    inside = box_mask(img_box.to(full.device), (h, w)).repeat(2, 1, 1)
    full = torch.where(inside, full, torch.full_like(full, ignore_index))
    label_h, label_l = full[:b], full[b:]
    out = label_h.clone()
    out[label_h == 0] = ignore_index
    out[(label_h + label_l) == 0] = 0
    return out
