"""Our training step and class maps against references written the way the official ACR
code (OpenNLPLab/ACR_WSSS: train_acr.py, infer_cam.py, DPT/ACR.py) writes them.

The references run a plain timm ViT with the same weights, observe the attention the way
the official model does (a saved tensor plus a gradient hook per block), un-mirror the
second view's attention with the official Python loops over row blocks, add the two
views' classification losses, and make maps with one backward pass per class, one
forward per flip, numpy flips and ``align_corners=True`` upsampling.
"""
import copy

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

GRID = 4  # 32 px images, 8 px patches: a 4 x 4 token grid, square as the official loops need
PATCH = 8
VIT_KWARGS = dict(img_size=32, patch_size=8, depth=4, embed_dim=24, num_heads=2)
NUM_CLASSES = 5


def _model(getam_mode='grad', start_layer=2, alpha=125.0, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(
        dict(type='ACRClassifier',
             data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
             backbone=dict(type='AttentionViT', arch='vit_tiny_patch16_224',
                           timm_kwargs=VIT_KWARGS),
             head=dict(type='CAMHead', num_classes=NUM_CLASSES, start_layer=start_layer,
                       getam_mode=getam_mode),
             acr_loss=dict(type='ACRLoss', loss_weight=alpha),
             test_cfg=dict(scales=(1.0, ), flip=True, refine=True, align_corners=True,
                           norm_eps=1e-6)))
    model.init_weights()
    with torch.no_grad():  # a classifier far from zero, so every gradient matters
        model.head.fc.weight.normal_(0, 0.5)
        model.head.fc.bias.normal_(0, 0.5)
    return model


class OfficialACR(torch.nn.Module):
    """The official model's behaviour on a plain timm ViT: ``forward_cls`` returns the
    class scores of the pre-norm class token and the head-averaged attention of every
    block stacked as (B, L, T, T); each block's attention and its gradient are saved."""

    def __init__(self, ours):
        super().__init__()
        self.vit = timm.create_model('vit_tiny_patch16_224', num_classes=0, **VIT_KWARGS)
        self.vit.load_state_dict(ours.backbone.vit.state_dict())
        self.cls_head = copy.deepcopy(ours.head.fc)
        self.attn, self.attn_grad = {}, {}
        for i, blk in enumerate(self.vit.blocks):
            blk.attn.fused_attn = False
            blk.attn.attn_drop.register_forward_hook(self._saver(i))

    def _saver(self, i):

        def save(module, inputs, output):
            attn = inputs[0]
            self.attn[i] = attn
            if attn.requires_grad:
                attn.register_hook(lambda g: self.attn_grad.__setitem__(i, g))

        return save

    def forward_cls(self, x):
        vit = self.vit
        x = vit._pos_embed(vit.patch_embed(x))
        for blk in vit.blocks:
            x = blk(x)
        attn = torch.stack([self.attn[i].mean(dim=1) for i in range(len(vit.blocks))], dim=1)
        return self.cls_head(x[:, 0]), attn

    def getam(self, batch, start_layer, func):
        cam_list = []
        for i in range(len(self.vit.blocks)):
            grad = self.attn_grad[i][batch]
            cam = self.attn[i][batch]
            if func == 'cam_grad_s':
                cam = (grad * cam).clamp(min=0).mean(dim=0) * grad.clamp(min=0).mean(dim=0)
            elif func == 'cam_grad':
                cam = (grad * cam).clamp(min=0).mean(dim=0)
            elif func == 'grad':
                cam = grad.clamp(min=0).mean(dim=0)
            elif func == 'grad_s':
                cam = grad.clamp(min=0).mean(dim=0) * grad.clamp(min=0).mean(dim=0)
            cam_list.append(cam.unsqueeze(0))
        cams = torch.stack(cam_list[start_layer:]).sum(dim=0)
        return torch.relu(cams[:, 0, 1:])


def official_train_loss(ref, img, label, alpha):
    """train_acr.py's step on one batch: the image and its mirror."""
    b, c, h, w = img.shape
    img2 = img.flip(3)
    x1, attn1 = ref.forward_cls(img)
    x2, attn2 = ref.forward_cls(img2)
    attn1_cls = attn1[:, :, 0, 1:].unsqueeze(2)
    attn2_cls = attn2[:, :, 0, 1:].unsqueeze(2)
    attn1_aff = attn1[:, :, 1:, 1:]
    attn2_aff = attn2[:, :, 1:, 1:]
    p = h // PATCH
    for i in range(p):
        attn2_cls[:, :, :, i * p:i * p + p] = attn2_cls[:, :, :, i * p:i * p + p].flip(3)
    for i in range(p):
        attn2_aff[:, :, i * p:i * p + p, :] = attn2_aff[:, :, i * p:i * p + p, :].flip(2)
    for i in range(p):
        attn2_aff[:, :, :, i * p:i * p + p] = attn2_aff[:, :, :, i * p:i * p + p].flip(3)
    cls_align_loss = F.l1_loss(attn1_cls, attn2_cls, reduction='mean')
    aff_align_loss = F.l1_loss(attn1_aff, attn2_aff, reduction='mean')
    cls_loss_1 = F.multilabel_soft_margin_loss(x1, label)
    cls_loss_2 = F.multilabel_soft_margin_loss(x2, label)
    return cls_loss_1 + cls_loss_2 + cls_align_loss * alpha + aff_align_loss * alpha


def official_maps(ref, img, label, ori_hw, start_layer, func):
    """infer_cam.py for one image already resized to the network size."""
    H, W = ori_hw
    _, _, h, w = img.shape
    cam_list = []
    for hflip in [1, 2]:
        cam_matrix = torch.zeros((1, NUM_CLASSES, H, W), dtype=img.dtype)
        inp = img.flip(3) if hflip % 2 == 1 else img
        cls_pred, attn = ref.forward_cls(inp)
        patch_aff = torch.sum(attn[:, :, 1:, 1:], dim=1)
        output = cls_pred[0, :]
        for class_index in range(NUM_CLASSES):
            if label[0, class_index] > 1e-5:
                one_hot = torch.zeros(NUM_CLASSES, dtype=output.dtype)
                one_hot[class_index] = 1
                score = torch.sum(one_hot * output)
                ref.zero_grad()
                score.backward(retain_graph=True)
                cam = ref.getam(0, start_layer, func)
                cam = torch.matmul(patch_aff, cam.unsqueeze(2))
                cam = cam.reshape(h // PATCH, w // PATCH)
                cam = F.interpolate(cam[None, None], (H, W), mode='bilinear',
                                    align_corners=True)
                cam_matrix[0, class_index] = cam
        cam_up = cam_matrix[0].detach().numpy()
        if hflip % 2 == 1:
            cam_up = np.flip(cam_up, axis=2)
        cam_list.append(cam_up)
    sum_cam = np.sum(cam_list, axis=0)
    lo = np.min(sum_cam, (1, 2), keepdims=True)
    hi = np.max(sum_cam, (1, 2), keepdims=True)
    return (sum_cam - lo) / (hi - lo + 1e-6)


def _views_sample(labels):
    s = SegDataSample()
    s.set_metainfo(dict(img_labels=np.array(labels, np.float32), view_flip=True))
    return s


def test_training_step_equals_the_official_step():
    model = _model()
    model.train()
    ref = OfficialACR(model).train()
    torch.manual_seed(1)
    img = torch.randn(2, 3, 32, 32)
    labels = [[1, 0, 0, 1, 0], [0, 1, 0, 0, 0]]
    label = torch.tensor(labels, dtype=torch.float32)

    losses = model.loss(torch.stack([img, img.flip(-1)], dim=1),
                        [_views_sample(x) for x in labels])
    total = sum(losses.values())
    total.backward()
    ref_total = official_train_loss(ref, img, label, alpha=125.0)
    ref_total.backward()

    torch.testing.assert_close(total, ref_total, rtol=1e-5, atol=0)
    ours = dict(model.backbone.vit.named_parameters())
    ours.update({f'fc.{k}': v for k, v in model.head.fc.named_parameters()})
    theirs = dict(ref.vit.named_parameters())
    theirs.update({f'fc.{k}': v for k, v in ref.cls_head.named_parameters()})
    compared = 0
    for name, p in ours.items():
        if p.grad is None:
            continue  # the final LayerNorm: unused by both classifiers
        g = theirs[name].grad
        scale = g.abs().max().clamp(min=1e-12)
        torch.testing.assert_close(p.grad / scale, g / scale, rtol=0, atol=1e-5, msg=name)
        compared += 1
    assert compared == len([p for p in ours.values() if p.requires_grad])
    # The classification term is the sum of the two views' losses, not their mean.
    x = model.head(model.backbone(torch.cat([img, img.flip(-1)])).cls_token)
    per_view = [F.multilabel_soft_margin_loss(x[:2], label),
                F.multilabel_soft_margin_loss(x[2:], label)]
    torch.testing.assert_close(losses['loss_cls'], per_view[0] + per_view[1])


@pytest.mark.parametrize('func', ['grad', 'grad_s', 'cam_grad', 'cam_grad_s'])
def test_class_maps_equal_the_official_inference(func):
    # In float64: a random tiny ViT refines maps into a small range over a large offset,
    # where min-max normalisation magnifies float32 rounding to ~1e-4.
    model = _model(getam_mode=func).double().eval()
    ref = OfficialACR(model).double().eval()
    torch.manual_seed(2)
    img = torch.randn(1, 3, 32, 32, dtype=torch.float64)  # resized to the crop size
    labels = [0, 1, 0, 1, 0]
    ori = (45, 61)

    s = SegDataSample()
    s.set_metainfo(dict(img_labels=np.array(labels, np.float32), img_shape=(32, 32),
                        ori_shape=ori))
    with torch.no_grad():  # as mmengine's test loop
        ours = model.predict(img, [s])[0].pred_cams.numpy()
    theirs = official_maps(ref, img, torch.tensor([labels], dtype=torch.float32), ori,
                           start_layer=2, func=func)

    assert ours.shape == theirs.shape == (NUM_CLASSES, ) + ori
    for c in (1, 3):  # real maps, not constant ones (with the official 1e-6 the maximum
        assert np.ptp(theirs[c]) > 0.05  # stays below 1 where the raw range is tiny)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
