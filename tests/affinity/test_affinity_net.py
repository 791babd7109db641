import copy

import torch
from affinity_test_utils import TOY_CONFIG
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from projects.acr.affinity import AffinityGraph, AffinityNet


def toy_model():
    cfg = Config.fromfile(TOY_CONFIG)
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg.model))


def test_registered_and_pair_affinity_equals_loop():
    model = toy_model()
    assert isinstance(model, AffinityNet)
    feats = torch.randn(2, 5, 3, 4)
    src, dst = model.pairs(3, 4, feats.device)
    got = model.pair_affinity(feats, src, dst)
    flat = feats.flatten(2)
    for b in range(2):
        for p in range(0, src.numel(), 7):
            ref = torch.exp(-(flat[b, :, src[p]] - flat[b, :, dst[p]]).abs().mean())
            assert torch.isclose(got[b, p], ref, atol=1e-6)


def test_loss_step_and_predict_graph():
    model = toy_model()
    samples = []
    for _ in range(2):
        s = SegDataSample()
        low = torch.zeros(1, 64, 64, dtype=torch.long)
        low[:, 8:40, 8:40] = 1
        high = low.clone()
        high[:, 40:48] = 2
        s.gt_sem_seg = PixelData(data=torch.cat([low, high]))
        samples.append(s)
    inputs = torch.randn(2, 3, 64, 64)
    losses = model(inputs, samples, mode='loss')
    assert {'loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg'} <= set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total) and total.item() > 0
    total.backward()
    assert model.head['fuse'].weight.grad.abs().sum() > 0
    assert losses['num_fg'] > 0 and losses['num_bg'] > 0 and losses['num_neg'] > 0

    model.eval()
    with torch.no_grad():
        graphs = model(torch.randn(1, 3, 50, 37), mode='predict')
    g = graphs[0]
    assert isinstance(g, AffinityGraph) and (g.height, g.width) == (7, 5)
    assert bool(((g.weight > 0) & (g.weight <= 1)).all())
