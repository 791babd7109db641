"""The published ToCo configs hold the numbers of ToCo's training scripts (docs/toco.md)."""
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
ARCHS = {'deit-b': 'deit_base_patch16_224.fb_in1k',
         'vit-b': 'vit_base_patch16_224.orig_in21k_ft_in1k'}


def _cfg(name):
    return Config.fromfile(osp.join(REPO, 'configs', 'toco', name + '.py'))


@pytest.mark.parametrize('backbone', sorted(ARCHS))
@pytest.mark.parametrize('data', ['voc', 'coco'])
@pytest.mark.parametrize('acr', ['', '_acr'])
def test_published_numbers(backbone, data, acr):
    cfg = _cfg(f'{backbone}_{data}{acr}')
    m = cfg.model
    voc = data == 'voc'
    assert m.backbone.arch == ARCHS[backbone] and m.backbone.drop_path_rate == 0
    assert m.backbone.aux_layer == (-3 if voc else 9)
    assert m.num_classes == (20 if voc else 80)
    t = m.train_cfg
    assert (t.bkg_thr, t.high_thr, t.low_thr) == ((0.5, 0.7, 0.25) if voc else
                                                  (0.45, 0.65, 0.25))
    assert tuple(t.cam_scales) == (1.0, 0.5, 1.5)
    assert (t.num_local_crops, t.local_crop_size, t.neg_ratio, t.par_down_scale) == \
        (8, 96, 0.2, 2)
    assert m.par.num_iter == 10 and tuple(m.par.dilations) == (1, 2, 4, 8, 12, 24)
    assert m.ptc_loss.loss_weight == 0.2 and m.seg_loss.loss_weight == 0.1
    assert m.ctc_loss.loss_weight == 0.5 and m.ctc_loss.temperature == (0.5 if voc else 1.0)
    e = m.energy_loss
    assert (e.loss_weight, e.sigma_rgb, e.sigma_xy, e.scale_factor) == \
        (pytest.approx(5e-9), 15.0, 100.0, 0.5)
    assert m.ema_momentum == 0.9
    assert (m.proj_head.out_dim, m.proj_head.hidden_dim, m.proj_head.bottleneck_dim) == \
        (1024, 2048, 256)
    assert (m.decoder.channels, m.decoder.dilation) == (512, 5)
    stages = [(s.begin, s.ptc, s.ctc, s.seg, s.energy, s.seg_cams) for s in t.stages]
    if voc:
        assert stages == [(0, 1, 1, 0, 0, 'cam'), (2001, 1, 1, 1, 1, 'cam')]
    else:
        assert stages == [(0, 0, 0, 0, 0, 'aux'), (8001, 0, 0, 1, 1, 'aux'),
                          (12001, 1, 1, 1, 1, 'cam')]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, tuple(opt.betas), opt.eps) == \
        ('AdamW', 6e-5, 0.01, (0.9, 0.999), 1e-8)
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    mults = {k: v.lr_mult for k, v in keys.items()}
    assert mults == {'classifier': 10.0, 'proj_head': 10.0, 'decoder': 10.0}
    sched = cfg.param_scheduler[0]
    iters = 20000 if voc else 80000
    assert (sched.type, sched.warmup_iters, sched.warmup_ratio, sched.max_iters,
            sched.power) == ('PolyWarmupLR', 1500, 1e-6, iters, 0.9)
    assert cfg.train_cfg.max_iters == iters
    assert cfg.train_cfg.val_interval == (2000 if voc else 4000)
    assert cfg.train_dataloader.batch_size == 2
    views = cfg.train_dataloader.dataset.pipeline[1]
    assert (views.type, views.crop_size, tuple(views.rescale_range),
            tuple(views.global_scale)) == ('ToCoViews', 448, (0.5, 2.0), (0.4, 1.0))
    assert cfg.model_wrapper_cfg.find_unused_parameters
    if acr:
        assert m.acr_loss.loss_weight == (125.0 if voc else 100.0)
    else:
        assert m.acr_loss is None


@pytest.mark.parametrize('backbone', sorted(ARCHS))
def test_multi_scale_crf_test_configs(backbone):
    cfg = _cfg(f'{backbone}_voc_ms-crf-test')
    tc = cfg.model.test_cfg
    assert tuple(tc.seg_scales) == (1.0, 1.5, 1.25) and tc.seg_flip
    assert tc.crf == dict(n_iters=10, gaussian_sxy=1.0, gaussian_compat=1.0,
                          bilateral_sxy=121.0, bilateral_srgb=5.0, bilateral_compat=4.0)
    kinds = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert 'ResizeImageOnly' not in kinds  # ToCo tests at the image's own size
    assert cfg.model.backbone.arch == ARCHS[backbone]


def test_optimizer_groups_follow_toco_param_groups():
    # ToCo's get_param_groups: the encoder at lr, classifier + aux_classifier + projection
    # head and the decoder at 10 x lr, weight decay 0.01 everywhere.
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS

    cfg = _cfg('deit-b_voc')
    cfg.model.backbone.update(arch='vit_tiny_patch16_224', pretrained=False,
                              timm_kwargs=dict(img_size=32, patch_size=8, depth=3))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    wd_of = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups
             for p in g['params']}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        head = name.startswith(('classifier', 'aux_classifier', 'proj_head.', 'decoder'))
        assert lr_of[id(p)] == pytest.approx(6e-4 if head else 6e-5), name
        assert wd_of[id(p)] == 0.01, name
    assert not model.backbone.vit.pos_embed.requires_grad
    assert not any(p.requires_grad for p in model.proj_head_t.parameters())
