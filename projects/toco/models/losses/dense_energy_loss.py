"""Dense CRF energy loss (rloss, Tang et al. 2018) in plain torch, as ToCo applies it."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

# Elements of one block of the kernel matrix (rows x pixels) held at a time: 2**22 floats
# are 16 MiB in fp32.
_BLOCK_ELEMENTS = 2**22


def bilateral_features(images: torch.Tensor, sigma_rgb: float, sigma_xy: float) -> torch.Tensor:
    """rloss's 5-D features ``(x / sigma_xy, y / sigma_xy, r / sigma_rgb, g / .., b / ..)``.

    Args:
        images (Tensor): (B, 3, H, W) intensities (0-255).
        sigma_rgb (float): Colour bandwidth.
        sigma_xy (float): Spatial bandwidth in pixels.

    Returns:
        Tensor: (B, H * W, 5), pixels row-major.
    """
    b, _, h, w = images.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=images.device, dtype=images.dtype),
                            torch.arange(w, device=images.device, dtype=images.dtype),
                            indexing='ij')
    xy = torch.stack([xs, ys]).reshape(1, 2, -1).expand(b, -1, -1) / sigma_xy
    rgb = images.reshape(b, 3, -1) / sigma_rgb
    return torch.cat([xy, rgb], dim=1).transpose(1, 2)


def dense_gaussian_filter(features: torch.Tensor, values: torch.Tensor,
                          block_elements: int = _BLOCK_ELEMENTS) -> torch.Tensor:
    """Exact dense Gaussian filtering ``out_i = sum_j exp(-|f_i - f_j|^2 / 2) v_j``.

    The sum runs over every pixel pair, self included: the quantity rloss's permutohedral
    lattice approximates (Adams et al. 2010), here computed exactly in blocks of rows of
    the kernel matrix, so memory stays bounded and the cost is ``O(N^2 K)`` per image.
    Squared distances come from ``|f_i|^2 + |f_j|^2 - 2 f_i . f_j`` of features centred
    per image (which keeps the cancellation error near fp32 round-off of the distances).

    Args:
        features (Tensor): (B, N, F).
        values (Tensor): (B, N, K).
        block_elements (int): Kernel entries computed at once.

    Returns:
        Tensor: (B, N, K).
    """
    b, n, _ = features.shape
    f = features - features.mean(dim=1, keepdim=True)
    sq = (f * f).sum(-1)  # (B, N)
    rows = max(1, block_elements // max(n, 1))
    out = torch.empty_like(values)
    for i in range(b):  # one image at a time keeps each block small enough for the cache
        fi_all, sq_i = f[i], sq[i]
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            # -2 f_a . f_b + |f_a|^2 + |f_b|^2, then exp(-d2 / 2), in place.
            d2 = torch.addmm(sq_i[None, :], fi_all[start:stop], fi_all.t(), alpha=-2.0)
            d2.add_(sq_i[start:stop, None]).clamp_(min=0).mul_(-0.5).exp_()
            out[i, start:stop] = d2 @ values[i]
    return out


class _DenseEnergy(torch.autograd.Function):
    """rloss's energy with its hand-written gradient (``DenseEnergyLossFunction``)."""

    @staticmethod
    def forward(ctx, images: torch.Tensor, segs: torch.Tensor, rois: torch.Tensor,
                unlabeled: torch.Tensor, sigma_rgb: float, sigma_xy: float) -> torch.Tensor:
        n, k, h, w = segs.shape
        gate = rois - segs.max(dim=1).values
        gate = gate.masked_fill(unlabeled, 1.0).clamp(min=0)
        masked = segs * rois[:, None]
        feats = bilateral_features(images.to(segs.dtype), sigma_rgb, sigma_xy)
        filtered = dense_gaussian_filter(feats, masked.flatten(2).transpose(1, 2))
        filtered = filtered.transpose(1, 2).reshape(n, k, h, w) * gate[:, None]
        ctx.save_for_backward(filtered, rois)
        return -(masked * filtered).sum() / n

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        filtered, rois = ctx.saved_tensors
        n = filtered.shape[0]
        # rloss's gradient: -2 (gated filtered maps) / N inside the ROI; the gate is
        # taken as a constant, as in its code.
        grad = -2 * grad_output * filtered / n * rois[:, None]
        return None, grad, None, None, None, None


@MODELS.register_module()
class DenseEnergyLoss(nn.Module):
    """ToCo's regularisation loss: rloss's dense CRF energy of the segmentation.

    With ``S`` the softmax of the segmentation inside the valid box (``R``), the gate
    ``G = 1 - max_k S_k`` (1 where the pseudo label is ignored, 0 outside the box) and
    ``W`` the Gaussian kernel on ``(x, y) / sigma_xy`` and ``rgb / sigma_rgb``:
    ``loss = -weight * sum_k S_k . (G * W S_k) / B``, on images, maps and masks resized by
    ``scale_factor`` first (the bandwidth ``sigma_xy`` scaled with them), with rloss's
    gradient ``-2 G * W S / B``. ToCo calls rloss's C++ extension (a permutohedral lattice,
    an approximation of ``W``); here ``W S`` is the exact dense sum, in torch.

    Args:
        loss_weight (float): rloss's ``weight`` (ToCo: 1e-7) times ToCo's ``w_reg`` (0.05)
            is what reaches the total loss; this is the product's first factor.
        sigma_rgb (float): Colour bandwidth (15).
        sigma_xy (float): Spatial bandwidth at full resolution (100).
        scale_factor (float): Resize factor (0.5).
    """

    def __init__(self,
                 loss_weight: float = 1e-7,
                 sigma_rgb: float = 15.0,
                 sigma_xy: float = 100.0,
                 scale_factor: float = 0.5) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.sigma_rgb = sigma_rgb
        self.sigma_xy = sigma_xy
        self.scale_factor = scale_factor

    def forward(self,
                images: torch.Tensor,
                probs: torch.Tensor,
                rois: torch.Tensor,
                label: torch.Tensor,
                ignore_index: int = 255) -> torch.Tensor:
        """Args:
            images (Tensor): (B, 3, H, W) RGB intensities 0-255.
            probs (Tensor): (B, C + 1, H, W) segmentation softmax.
            rois (Tensor): (B, H, W) 1 inside the valid box, 0 outside.
            label (Tensor): (B, H, W) pseudo label (``ignore_index`` unlabelled).
            ignore_index (int): Unlabelled value.

        Returns:
            Tensor: The weighted loss, a scalar.
        """
        s = self.scale_factor
        kw = dict(scale_factor=s, recompute_scale_factor=True)
        # The kernel sums run in fp32 even under mixed precision: bf16's 8 bits of mantissa
        # would round the squared feature distances of the Gaussian.
        images, probs = images.float(), probs.float()
        images = F.interpolate(images, **kw)
        probs = F.interpolate(probs, mode='bilinear', align_corners=False, **kw)
        rois = F.interpolate(rois[:, None].to(probs.dtype), **kw)[:, 0]
        label = F.interpolate(label[:, None].float(), mode='nearest', **kw)[:, 0]
        unlabeled = label.long() == ignore_index
        with torch.autocast(device_type=probs.device.type, enabled=False):
            energy = _DenseEnergy.apply(images, probs, rois, unlabeled, self.sigma_rgb,
                                        self.sigma_xy * s)
        return self.loss_weight * energy

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, sigma_rgb={self.sigma_rgb}, '
                f'sigma_xy={self.sigma_xy}, scale_factor={self.scale_factor}')
