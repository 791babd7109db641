import pytest
import torch

from projects.acr.models import AttentionViT, CAMHead

CFG = dict(img_size=32, patch_size=8, depth=4, embed_dim=24, num_heads=2)


def _setup(seed=0):
    torch.manual_seed(seed)
    vit = AttentionViT('vit_tiny_patch16_224', timm_kwargs=CFG).eval()
    head = CAMHead(in_channels=24, num_classes=5, start_layer=2)
    head.init_weights()
    return vit, head


def _reference_getam(vit, head, x, classes, mode):
    """One forward and one backward per image and class, loops everywhere."""
    maps = torch.zeros(len(classes), x.shape[0], 16)
    for b in range(x.shape[0]):
        for k, c in enumerate(classes):
            out = vit(x[b:b + 1])
            score = head(out.cls_token)[0, c]
            attns = out.attns[head.start_layer:]
            grads = torch.autograd.grad(score, attns)
            for a, g in zip(attns, grads):
                w = g[0, :, 0, 1:].clamp(min=0)
                if mode == 'cam_grad':
                    w = w * a[0, :, 0, 1:]
                maps[k, b] += w.mean(0).detach()
    return maps


@pytest.mark.parametrize('mode', ['cam_grad', 'grad'])
@pytest.mark.parametrize('batched', [True, False])
def test_getam_one_pass_equals_one_pass_per_class(mode, batched):
    vit, head = _setup()
    head.getam_mode = mode
    x = torch.randn(3, 3, 32, 32)
    classes = [0, 3, 4]
    out = vit(x)
    logits = head(out.cls_token)
    cams = head.getam(logits, out, torch.tensor(classes), batched=batched)
    assert cams.shape == (3, 3, 16)
    assert (cams >= 0).all()
    ref = _reference_getam(vit, head, x, classes, mode)
    torch.testing.assert_close(cams, ref, rtol=1e-4, atol=1e-7)


def test_refine_is_affinity_matmul():
    vit, head = _setup()
    out = vit(torch.randn(2, 3, 32, 32))
    cams = torch.rand(4, 2, 16)
    aff = head.affinity(out)
    assert aff.shape == (2, 16, 16)
    ref = sum(a.detach().mean(1)[:, 1:, 1:] for a in out.attns)
    torch.testing.assert_close(aff, ref)
    refined = head.refine(cams, aff)
    for k in range(4):
        for b in range(2):
            torch.testing.assert_close(refined[k, b], aff[b] @ cams[k, b])


def test_patch_cam_and_loss():
    vit, head = _setup()
    out = vit(torch.randn(2, 3, 32, 40))
    cam = head.patch_cam(out)
    assert cam.shape == (2, 5, 4, 5)
    ref = (out.patch_tokens @ head.fc.weight.t()).relu()
    torch.testing.assert_close(cam[1, 2].flatten(), ref[1, :, 2])
    logits = head(out.cls_token)
    labels = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    loss = head.loss(logits, labels)['loss_cls']
    ref = torch.nn.MultiLabelSoftMarginLoss()(logits, labels)
    torch.testing.assert_close(loss, ref)


def test_bad_start_layer():
    vit, head = _setup()
    head.start_layer = 9
    out = vit(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match='start_layer'):
        head.getam(head(out.cls_token), out, torch.tensor([0]))
