"""The torch energy loss against a brute-force dense Gaussian and rloss's loss function."""
import numpy as np
import torch
import torch.nn.functional as F

from projects.toco.models.losses import DenseEnergyLoss, bilateral_features, dense_gaussian_filter


def _brute_filter(images, segs, sigma_rgb, sigma_xy):
    """sum_j exp(-|p_i - p_j|^2 / 2 sxy^2 - |I_i - I_j|^2 / 2 srgb^2) S_j, in float64."""
    n, k, h, w = segs.shape
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
    out = np.zeros((n, k, h * w))
    for b in range(n):
        feat = np.concatenate([xs.reshape(1, -1) / sigma_xy, ys.reshape(1, -1) / sigma_xy,
                               images[b].reshape(3, -1) / sigma_rgb]).T  # (N, 5)
        d2 = ((feat[:, None, :] - feat[None, :, :])**2).sum(-1)
        out[b] = segs[b].reshape(k, -1) @ np.exp(-0.5 * d2).T
    return out.reshape(n, k, h, w)


def _ref_energy(images, segmentations, sigma_rgb, sigma_xy, rois, unlabel_region):
    """rloss's DenseEnergyLossFunction forward and backward, the lattice replaced by the
    brute-force dense Gaussian."""
    n, k, h, w = segmentations.shape
    gate = rois.clone()
    rois_k = rois.unsqueeze(1).repeat(1, k, 1, 1)
    seg_max = torch.max(segmentations, dim=1)[0]
    gate = gate - seg_max
    gate[unlabel_region] = 1
    gate[gate < 0] = 0
    gate = gate.unsqueeze(1).repeat(1, k, 1, 1)
    segs = torch.mul(segmentations, rois_k).double().numpy()
    filtered = _brute_filter(images.double().numpy(), segs, sigma_rgb, sigma_xy)
    filtered = filtered * gate.double().numpy()
    loss = -np.dot(segs.flatten(), filtered.flatten()) / n
    grad = -2 * filtered / n * rois_k.double().numpy()
    return loss, grad


def test_dense_filter_matches_brute_force():
    torch.manual_seed(0)
    images = torch.rand(2, 3, 7, 9) * 255
    values = torch.rand(2, 4, 7, 9)
    feats = bilateral_features(images, 15.0, 5.0)
    for block in (2**26, 10):  # one block and many blocks of rows
        out = dense_gaussian_filter(feats, values.flatten(2).transpose(1, 2), block)
        out = out.transpose(1, 2).reshape(values.shape)
        ref = _brute_filter(images.double().numpy(), values.double().numpy(), 15.0, 5.0)
        np.testing.assert_allclose(out.numpy(), ref, rtol=2e-5, atol=1e-5)


def test_energy_loss_value_and_gradient_match_rloss():
    torch.manual_seed(1)
    b, c, h, w = 2, 4, 12, 10
    images = torch.rand(b, 3, h, w) * 255
    logits = torch.randn(b, c, h, w, requires_grad=True)
    rois = torch.zeros(b, h, w)
    rois[0] = 1
    rois[1, 2:10, 0:8] = 1
    label = torch.randint(0, c, (b, h, w))
    label[:, :3] = 255
    loss_layer = DenseEnergyLoss(loss_weight=1e-3, sigma_rgb=15.0, sigma_xy=8.0,
                                 scale_factor=0.5)
    probs = logits.softmax(1)
    loss = loss_layer(images, probs, rois, label)
    (grad_logits, ) = torch.autograd.grad(loss, logits)

    # The reference: ToCo's resizing, then rloss's function.
    kw = dict(scale_factor=0.5, recompute_scale_factor=True)
    s_img = F.interpolate(images, **kw)
    s_seg = F.interpolate(probs.detach().requires_grad_(), mode='bilinear',
                          align_corners=False, **kw)
    s_roi = F.interpolate(rois.unsqueeze(1), **kw).squeeze(1)
    s_lab = F.interpolate(label.float().unsqueeze(1), mode='nearest', **kw)
    unlabel = (s_lab.long() == 255).squeeze(1)
    ref_loss, ref_grad = _ref_energy(s_img, s_seg.detach(), 15.0, 8.0 * 0.5, s_roi, unlabel)
    np.testing.assert_allclose(loss.item(), 1e-3 * ref_loss, rtol=1e-5)
    # Gradient to the logits: rloss's gradient through the resize and the softmax.
    probs_leaf = logits.detach().requires_grad_()
    s_seg = F.interpolate(probs_leaf.softmax(1), mode='bilinear', align_corners=False, **kw)
    s_seg.backward(torch.from_numpy(1e-3 * ref_grad).float())
    torch.testing.assert_close(grad_logits, probs_leaf.grad, rtol=1e-4, atol=1e-9)
    assert grad_logits.abs().sum() > 0


def test_energy_is_lower_for_a_segmentation_that_follows_the_image():
    # Two flat colour regions: a segmentation along them has lower energy than a
    # segmentation that cuts across them.
    h, w = 8, 8
    images = torch.zeros(1, 3, h, w)
    images[..., :, 4:] = 255
    along = torch.zeros(1, 2, h, w)
    along[:, 0, :, :4] = 1
    along[:, 1, :, 4:] = 1
    across = along.transpose(-1, -2).contiguous()
    rois = torch.ones(1, h, w)
    label = torch.zeros(1, h, w, dtype=torch.long)
    loss = DenseEnergyLoss(loss_weight=1.0, sigma_rgb=15.0, sigma_xy=10.0, scale_factor=1.0)
    soft = lambda x: (x * 4).softmax(1)  # noqa: E731
    assert loss(images, soft(along), rois, label) < loss(images, soft(across), rois, label)


def test_energy_is_computed_in_fp32_under_bf16_autocast():
    torch.manual_seed(2)
    images = torch.rand(1, 3, 10, 10) * 255
    probs = torch.rand(1, 3, 10, 10).softmax(1)
    rois = torch.ones(1, 10, 10)
    label = torch.zeros(1, 10, 10, dtype=torch.long)
    loss = DenseEnergyLoss(loss_weight=1.0, sigma_xy=6.0)
    ref = loss(images, probs, rois, label)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mixed = loss(images, probs.bfloat16(), rois, label)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, ref, rtol=1e-2, atol=0)
