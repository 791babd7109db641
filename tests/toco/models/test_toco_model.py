"""The ToCo model against ToCo's network and training step written as its code writes them."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from toco_reference import (RefNetwork, ref_aff, ref_cam_to_label, ref_crop_from_roi_neg, ref_ctc,
                            ref_denormalize_img2, ref_multi_scale_cam2, ref_ptc, ref_refine,
                            ref_roi, ref_seg)

TINY = dict(
    type='ToCo',
    num_classes=4,
    data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
    backbone=dict(type='ToCoViT', arch='vit_tiny_patch16_224', aux_layer=-2,
                  timm_kwargs=dict(img_size=32, patch_size=8, depth=3, embed_dim=24,
                                   num_heads=2)),
    decoder=dict(channels=16),
    proj_head=dict(out_dim=32, hidden_dim=32, bottleneck_dim=16),
    train_cfg=dict(local_crop_size=16,
                   stages=[dict(begin=0, ptc=1.0, ctc=1.0, seg=1.0, energy=1.0)]))


def _sample(labels, box=(0, 48, 0, 48), size=(48, 48)):
    s = SegDataSample()
    s.set_metainfo(dict(img_labels=np.array(labels, np.float32), img_box=np.array(box),
                        view_affine=np.array([[1, 0, 0], [0, 1, 0]], np.float32),
                        img_shape=size, ori_shape=size))
    return s


def _model(**kw):
    torch.manual_seed(0)
    model = MODELS.build(dict(TINY, **kw))
    model.init_weights()
    # Stronger class maps than at initialisation, so that every pseudo-label branch is hit.
    with torch.no_grad():
        model.classifier.weight.mul_(20)
        model.aux_classifier.weight.mul_(20)
    return model


def _batch(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (3, 3, 48, 48), generator=g, dtype=torch.uint8)
             for _ in range(2)]
    samples = [_sample([1, 0, 0, 1], box=(0, 40, 4, 48)), _sample([0, 1, 0, 0])]
    return model.data_preprocessor(dict(inputs=views, data_samples=samples), True)


def test_network_and_maps_match_official_forward():
    model = _model()
    ref = RefNetwork(model, aux_layer=-2)
    x = _batch(model)['inputs'][:, 0]
    out = model.backbone(x)
    fmap = model._to_2d(out.patch_tokens, out.grid)
    cls_r, seg_r, fmap_r, aux_r = ref(x)
    torch.testing.assert_close(fmap, fmap_r)
    torch.testing.assert_close(model._classify(fmap, model.classifier), cls_r)
    aux = model._to_2d(out.aux_tokens, out.grid)
    torch.testing.assert_close(model._classify(aux, model.aux_classifier), aux_r)
    torch.testing.assert_close(model.decoder(fmap), seg_r)
    cams, cams_aux = model.multi_scale_cams(x, (1.0, 0.5, 1.5))
    cams_r, cams_aux_r = ref_multi_scale_cam2(ref, x, (1.0, 0.5, 1.5))
    torch.testing.assert_close(cams, cams_r)
    torch.testing.assert_close(cams_aux, cams_aux_r)
    assert not model.backbone.vit.pos_embed.requires_grad


def test_training_step_matches_official():
    model = _model()
    ref = RefNetwork(model, aux_layer=-2)
    batch = _batch(model)
    inp, samples = batch['inputs'], batch['data_samples']
    labels = torch.tensor(np.stack([s.img_labels for s in samples]))
    box = torch.tensor(np.stack([s.img_box for s in samples]))
    params = [p for n, p in model.named_parameters()
              if p.requires_grad and not n.startswith('proj_head')]

    # ToCo's iteration (scripts/dist_train_voc_seg_neg.py), without the energy loss.
    torch.manual_seed(5)
    x, view2, local_src = inp[:, 0], inp[:, 1], inp[:, 2]
    denorm = ref_denormalize_img2(x.clone())
    cams, cams_aux = ref_multi_scale_cam2(ref, x, (1.0, 0.5, 1.5))
    roi = ref_roi(cams_aux, labels, 0.7, 0.25)
    local_crops, flags = ref_crop_from_roi_neg(local_src, roi, 8, 16)
    cls, segs, fmap, cls_aux, out_t, out_s = ref(x, crops=[x, view2] + local_crops)
    kw = dict(bkg_thre=0.5, high_thre=0.7, low_thre=0.25, ignore_index=255)
    valid_cam, _ = ref_cam_to_label(cams, labels, img_box=box, ignore_mid=True, **kw)
    pseudo = ref_refine(model.par, denorm, valid_cam, labels, 0.7, 0.25, 255, box)
    segs = F.interpolate(segs, size=pseudo.shape[1:], mode='bilinear', align_corners=False)
    resized_aux = F.interpolate(cams_aux, size=fmap.shape[2:], mode='bilinear',
                                align_corners=False)
    _, aux_label = ref_cam_to_label(resized_aux, labels, img_box=box, ignore_mid=True, **kw)
    expected = dict(
        loss_cls=F.multilabel_soft_margin_loss(cls, labels),
        loss_cls_aux=F.multilabel_soft_margin_loss(cls_aux, labels),
        loss_ctc=0.5 * ref_ctc(out_s, out_t, flags, 10, 0.5),
        loss_seg=0.1 * ref_seg(segs, pseudo.long()),
        loss_ptc=0.2 * ref_ptc(fmap, ref_aff(aux_label)))
    ref_grads = torch.autograd.grad(sum(expected.values()), params, allow_unused=True)

    torch.manual_seed(5)
    losses = model(inp, samples, mode='loss')
    assert set(losses) == set(expected)
    for k in expected:
        torch.testing.assert_close(losses[k], expected[k], msg=k)
    grads = torch.autograd.grad(sum(losses.values()), params, allow_unused=True)
    for p, g, g_ref in zip(params, grads, ref_grads):
        assert (g is None) == (g_ref is None)
        if g is not None:
            torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-6)
    # The teacher head moved towards the student by ToCo's EMA, like the reference's.
    torch.testing.assert_close(model.proj_head_t.last_layer.weight_v,
                               ref.proj_head_t.last_layer.weight_v)
    assert int(model.train_iter) == 1
    assert (pseudo == 255).any() and (pseudo == 0).any() and (pseudo > 0).any()


def test_stages_switch_losses_and_energy_is_added():
    model = _model(energy_loss=dict(type='DenseEnergyLoss', loss_weight=5e-9),
                   train_cfg=dict(local_crop_size=16))  # ToCo's VOC stages
    batch = _batch(model)
    early = model(**batch, mode='loss')
    assert early['loss_seg'] == 0 and 'loss_energy' not in early
    model.train_iter.fill_(2001)
    late = model(**batch, mode='loss')
    assert late['loss_seg'] > 0 and torch.isfinite(late['loss_energy'])
    assert model.stage(2000)['seg'] == 0 and model.stage(2001)['seg'] == 1


def test_acr_plug_in_adds_attention_consistency_of_the_global_views():
    model = _model(acr_loss=dict(type='ACRLoss', loss_weight=10.0))
    assert model.backbone.record_attention
    losses = model(**_batch(model), mode='loss')
    assert losses['loss_intensity'] > 0 and losses['loss_affinity'] > 0
    assert not _model().backbone.record_attention  # off by default: fused attention


def test_predict_gives_maps_and_segmentation_at_the_original_size():
    model = _model().eval()
    img = torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8)
    data = dict(inputs=[img], data_samples=[_sample([0, 1, 0, 1], size=(40, 48))])
    out = model.test_step(data)[0]
    assert out.pred_cams.shape == (4, 40, 48) and out.seg_logits.data.shape == (5, 40, 48)
    assert torch.all(out.pred_cams[[0, 2]] == 0) and out.pred_cams.max() <= 1
    assert out.pred_sem_seg.data.shape == (1, 40, 48)


@pytest.mark.parametrize('bad, match', [
    (dict(stages=[dict(begin=5)]), 'begin=0'),
    (dict(stages=[dict(begin=0, sed=1.0)]), 'takes'),
    (dict(stages=[dict(begin=0, seg_cams='x')]), 'seg_cams'),
])
def test_bad_stages_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(TINY, train_cfg=bad))


def test_missing_view_metadata_names_the_key():
    model = _model()
    batch = _batch(model)
    for s in batch['data_samples']:
        del s.img_box
    with pytest.raises(KeyError, match='img_box'):
        model(**batch, mode='loss')


def test_acr_vanishes_for_identical_aligned_views():
    model = _model(acr_loss=dict(type='ACRLoss', loss_weight=10.0))
    batch = _batch(model)
    batch['inputs'][:, 1] = batch['inputs'][:, 0]  # view 2 = view 1, identity geometry
    losses = model(**batch, mode='loss')
    assert losses['loss_intensity'] < 1e-7 and losses['loss_affinity'] < 1e-7


def test_predict_with_multi_scale_flip_and_crf(tmp_path):
    from PIL import Image
    model = _model(test_cfg=dict(seg_scales=(1.0, 1.5, 1.25), seg_flip=True,
                                 crf=dict(n_iters=10, gaussian_sxy=1.0, gaussian_compat=1.0,
                                          bilateral_sxy=121.0, bilateral_srgb=5.0,
                                          bilateral_compat=4.0))).eval()
    img = torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8)
    path = str(tmp_path / 'img.png')
    Image.fromarray(img.permute(1, 2, 0).numpy()[..., ::-1].copy()).save(path)
    sample = _sample([0, 1, 0, 1], size=(40, 48))
    sample.set_metainfo(dict(img_path=path))
    out = model.test_step(dict(inputs=[img], data_samples=[sample]))[0]
    # The merged logits: the maximum over scales of (image + mirror) logits.
    x = model.data_preprocessor(dict(inputs=[img]), False)['inputs']
    seg = model._seg_logits(x)

    def logits(inp):
        out = model.backbone(inp)
        seg = model.decoder(model._to_2d(out.patch_tokens, out.grid))
        return F.interpolate(seg, size=(40, 48), mode='bilinear', align_corners=False)

    scale1 = logits(x) + logits(x.flip(-1)).flip(-1)
    assert torch.all(seg >= scale1 - 1e-6) and (seg > scale1 + 1e-4).any()
    torch.testing.assert_close(out.seg_logits.data, seg[0])
    pred = out.pred_sem_seg.data
    assert pred.shape == (1, 40, 48) and int(pred.max()) <= 4


def test_ptc_box_on_grid_keeps_the_tokens_that_show_the_image():
    model = _model(train_cfg=dict(local_crop_size=16, ptc_box_on_grid=True,
                                  stages=[dict(begin=0)]))
    captured = {}
    orig = model.ptc_loss.forward

    def spy(tokens, aff_mask):
        captured['mask'] = aff_mask
        return orig(tokens, aff_mask)

    model.ptc_loss.forward = spy
    model(**_batch(model), mode='loss')
    # Image 0's box (0, 40, 4, 48) of 48 px covers token rows 0-4 and columns 0-5 of 6:
    # only the last token row is outside; with ToCo's pixel box every token is inside.
    ignored = (captured['mask'][0] == 255).all(dim=1).view(6, 6)
    assert ignored[5].all()
    assert not ignored[:5].all(dim=1).any()
