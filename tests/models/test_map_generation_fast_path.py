"""The fast map generation against the plain computation it replaces.

Plain: one pass for the logits, then per scale a forward that records the whole graph,
GETAM, refinement with the attached attention, every class's map upsampled and
normalised. Fast: no logits-only pass, no graph before ``start_layer``, only the present
classes resized.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from projects.acr.models.classifiers.acr_classifier import normalize_cams

VIT = dict(img_size=32, patch_size=8, depth=4, embed_dim=24, num_heads=2)


def _model(test_cfg, getam_mode='grad', start_layer=2):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ACRClassifier',
             data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
             backbone=dict(type='AttentionViT', arch='vit_tiny_patch16_224', timm_kwargs=VIT),
             head=dict(type='CAMHead', num_classes=5, start_layer=start_layer,
                       getam_mode=getam_mode),
             test_cfg=test_cfg))
    model.init_weights()
    with torch.no_grad():  # a classifier far from zero, so that classes are predicted
        model.head.fc.weight.normal_(0, 0.5)
        model.head.fc.bias.normal_(0, 0.5)
    return model.eval()


def _samples(labels, shape, ori):
    out = []
    for lab in labels:
        s = SegDataSample()
        s.set_metainfo(dict(img_labels=np.array(lab, np.float32), img_shape=shape,
                            ori_shape=ori))
        out.append(s)
    return out


def plain_predict(model, inputs, samples):
    """The computation before the fast paths, written out."""
    cfg = model.test_cfg
    labels = model._labels(samples, inputs.device)
    with torch.enable_grad():
        logits = model.head(model.backbone(inputs).cls_token).detach()
        present = labels if cfg['use_gt_labels'] else (
            logits.sigmoid() > cfg['score_thr']).float()
        grids = []
        for scale in cfg['scales']:
            b, _, h, w = inputs.shape
            x = inputs
            if scale != 1.0:
                d = model.data_preprocessor.size_divisor
                size = (max(d, round(h * scale / d) * d), max(d, round(w * scale / d) * d))
                x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
            if cfg['flip']:
                x = torch.cat([x, x.flip(-1)])
            out = model.backbone(x)  # the whole graph
            cams = inputs.new_zeros((b, present.shape[1]) + tuple(out.grid))
            ids = present.any(0).nonzero()[:, 0]
            if ids.numel():
                cam = model.head.getam(model.head(out.cls_token), out, ids)
                if cfg['refine']:
                    p = out.num_prefix_tokens
                    aff = sum(a.mean(dim=1)[:, p:, p:] for a in out.attns)
                    cam = torch.einsum('bij,kbj->kbi', aff.detach(), cam)
                cam = cam.reshape(cam.shape[:-1] + tuple(out.grid))
                if cfg['flip']:
                    cam = cam[:, :b] + cam[:, b:].flip(-1)
                cams[:, ids] = cam.transpose(0, 1) * present[:, ids, None, None]
            grids.append(cams)
    maps = []
    for i, s in enumerate(samples):
        cam = sum(model._upsample(g[i:i + 1], s, inputs.shape[-2:]) for g in grids)
        maps.append(normalize_cams(cam[0], eps=cfg['norm_eps']))
    return torch.stack(maps), logits.sigmoid()


@pytest.mark.parametrize('use_gt_labels', [True, False])
@pytest.mark.parametrize('scales', [(1.0, ), (1.0, 0.75), (0.75, 1.25)])
@pytest.mark.parametrize('getam_mode', ['grad', 'cam_grad_s'])
def test_fast_predict_equals_plain_computation(use_gt_labels, scales, getam_mode):
    # In float64: the refined maps of a random tiny ViT span about 1e-4 over an offset of
    # 0.05, so min-max normalisation magnifies float32 rounding (the class-token-only last
    # block rounds its one-row products differently) to ~2e-4.
    model = _model(dict(scales=scales, flip=True, refine=True, use_gt_labels=use_gt_labels,
                        score_thr=0.5, align_corners=False, norm_eps=1e-6),
                   getam_mode=getam_mode).double()
    torch.manual_seed(1)
    inputs = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    labels = [[0, 1, 0, 1, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    samples = _samples(labels, (32, 32), (45, 61))
    want_maps, want_scores = plain_predict(model, inputs, samples)
    with torch.no_grad():
        got = model.predict(inputs, samples)
    got_maps = torch.stack([s.pred_cams for s in got])
    got_scores = torch.stack([s.pred_scores for s in got])
    assert got_maps.shape == (3, 5, 45, 61)
    assert want_maps.abs().sum() > 0
    torch.testing.assert_close(got_maps, want_maps, rtol=0, atol=1e-9)
    torch.testing.assert_close(got_scores, want_scores, rtol=1e-12, atol=1e-12)


def _count_backbone_passes(model):
    calls = []
    model.backbone.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    return calls


def test_one_backbone_pass_per_scale():
    model = _model(dict(scales=(1.0, 0.75), flip=True, refine=True, use_gt_labels=True))
    calls = _count_backbone_passes(model)
    samples = _samples([[0, 1, 0, 1, 0]], (32, 32), (32, 32))
    with torch.no_grad():
        model.predict(torch.randn(1, 3, 32, 32), samples)
    assert calls == [2, 2]  # the image and its mirror at each scale, nothing else

    # Predicted classes come from the un-flipped half of the scale-1 pass.
    model.test_cfg['use_gt_labels'] = False
    calls.clear()
    with torch.no_grad():
        model.predict(torch.randn(1, 3, 32, 32), samples)
    assert calls == [2, 2]

    # Without scale 1 one pass gives the scores (and classes) first.
    model.test_cfg['scales'] = (0.75, )
    calls.clear()
    with torch.no_grad():
        model.predict(torch.randn(1, 3, 32, 32), samples)
    assert calls == [1, 2]


def test_blocks_before_start_layer_build_no_graph():
    model = _model(dict(), start_layer=2)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        full = model.backbone(x)
    with torch.enable_grad():
        fast = model.backbone(x, grad_from_block=2)
        assert [a.requires_grad for a in fast.attns] == [False, False, True, True]
        for a, b in zip(fast.attns, full.attns):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(fast.cls_token, full.cls_token, rtol=0, atol=0)
        logits = model.head(fast.cls_token)
        maps = model.head.getam(logits, fast, torch.tensor([0, 3]))
        whole = model.backbone(x)
        want = model.head.getam(model.head(whole.cls_token), whole, torch.tensor([0, 3]))
    torch.testing.assert_close(maps, want, rtol=1e-5, atol=1e-7)
    aff = model.head.affinity(fast)
    assert aff.grad_fn is None
    with pytest.raises(ValueError, match='grad_from_block'):
        model.backbone(x, grad_from_block=5)


def test_image_without_classes_gets_zero_maps():
    model = _model(dict(scales=(1.0, ), flip=True, use_gt_labels=True))
    samples = _samples([[0, 0, 0, 0, 0]], (32, 32), (40, 50))
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 32, 32), samples)[0]
    assert out.pred_cams.shape == (5, 40, 50)
    assert out.pred_cams.abs().sum() == 0
    assert out.pred_scores.shape == (5, )
