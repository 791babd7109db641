import torch
import torch.nn as nn

from projects.acr.engine import BF16OptimWrapper


def test_forward_runs_in_bf16_and_weights_stay_fp32():
    torch.manual_seed(0)
    model = nn.Linear(8, 4)
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    x = torch.randn(5, 8)
    reference = model(x).detach()
    with wrapper.optim_context(model):
        y = model(x)
    assert y.dtype == torch.bfloat16
    # bf16 keeps about three significant digits of the fp32 result
    torch.testing.assert_close(y.float(), reference, rtol=2e-2, atol=2e-2)
    before = model.weight.detach().clone()
    wrapper.update_params(y.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(before, model.weight)


def test_acr_step_in_bf16_keeps_the_loss_terms_in_fp32():
    import numpy as np
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    import projects.acr  # noqa: F401
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ACRClassifier',
             backbone=dict(type='AttentionViT', arch='vit_tiny_patch16_224',
                           timm_kwargs=dict(img_size=32, patch_size=8, depth=3, embed_dim=48,
                                            num_heads=3)),
             head=dict(type='CAMHead', num_classes=4, start_layer=1),
             acr_loss=dict(type='ACRLoss', loss_weight=125.0)))
    model.init_weights()
    img = torch.randn(2, 3, 32, 32)
    views = torch.stack([img, img.flip(-1)], dim=1)
    samples = []
    for labels in ([1, 0, 0, 1], [0, 1, 0, 0]):
        s = SegDataSample()
        s.set_metainfo(dict(img_labels=np.array(labels, np.float32), view_flip=True))
        samples.append(s)
    reference = model.loss(views, samples)
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    with wrapper.optim_context(model):
        out = model.backbone(views.flatten(0, 1))
        assert out.attns[0].dtype == torch.bfloat16  # the matrix products run in bf16
        assert out.mean_attns().dtype == torch.float32  # what the ACR terms compare
        losses = model.loss(views, samples)
    for name, value in losses.items():
        assert value.dtype == torch.float32, name
        # bf16 rounds each attention weight to 3 significant digits; the terms average
        # many of them
        torch.testing.assert_close(value, reference[name], rtol=3e-2, atol=0, msg=name)
    wrapper.update_params(sum(losses.values()))
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


AVX2_CPUINFO = 'processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n'


def _no_native_bf16(monkeypatch, tmp_path):
    """Makes this machine's CPU read as an AVX2 one without native bf16."""
    from projects.acr.utils import cpu_capability
    path = tmp_path / 'cpuinfo'
    path.write_text(AVX2_CPUINFO)
    real = cpu_capability.detect_cpu_capability
    monkeypatch.setattr(cpu_capability, 'detect_cpu_capability',
                        lambda probe='auto', cpuinfo=None: real(probe, str(path)))
    return cpu_capability


def test_wrapper_warns_once_on_a_cpu_without_native_bf16(monkeypatch, tmp_path):
    from mmengine.logging import MMLogger

    _no_native_bf16(monkeypatch, tmp_path)
    model = nn.Linear(4, 2)
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    warnings = []
    logger = MMLogger.get_current_instance()
    monkeypatch.setattr(logger, 'log', lambda level, msg, *a, **k: warnings.append(msg)
                        if level >= 30 else None)
    for _ in range(2):
        with wrapper.optim_context(model):
            model(torch.randn(3, 4))
    assert len(warnings) == 1 and 'no native bf16' in warnings[0]
