import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

MODEL = dict(
    type='ACRClassifier',
    data_preprocessor=dict(type='MultiViewDataPreprocessor', size_divisor=8),
    backbone=dict(type='AttentionViT', arch='vit_tiny_patch16_224',
                  timm_kwargs=dict(img_size=32, patch_size=8, depth=3, embed_dim=24,
                                   num_heads=2)),
    head=dict(type='CAMHead', num_classes=4, start_layer=1),
    acr_loss=dict(type='ACRLoss', loss_weight=125.0),
    test_cfg=dict(scales=(1.0, 0.75), flip=True))


def _sample(labels, shape=(32, 32), flip=True):
    s = SegDataSample()
    s.set_metainfo(dict(img_labels=np.array(labels, np.float32), view_flip=flip,
                        img_shape=shape, ori_shape=shape))
    s.gt_sem_seg = PixelData(data=torch.zeros((1, ) + shape, dtype=torch.long))
    return s


def _views(n, h=32, w=32):
    img = torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8)
    return [torch.stack([i, i.flip(-1)]) for i in img]


def test_train_step_reports_each_loss():
    torch.manual_seed(0)
    model = MODELS.build(MODEL)
    model.init_weights()
    data = dict(inputs=_views(2), data_samples=[_sample([1, 0, 0, 1]), _sample([0, 1, 0, 0])])
    batch = model.data_preprocessor(data, True)
    assert batch['inputs'].shape == (2, 2, 3, 32, 32)
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_intensity', 'loss_affinity'}
    assert all(v.ndim == 0 and v.item() > 0 for v in losses.values())
    sum(losses.values()).backward()


def test_alpha_zero_trains_classifier_alone():
    cfg = dict(MODEL, acr_loss=dict(type='ACRLoss', loss_weight=0))
    model = MODELS.build(cfg)
    assert model.acr_loss is None
    data = dict(inputs=_views(1), data_samples=[_sample([1, 0, 0, 0])])
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert set(losses) == {'loss_cls'}


def test_predict_gives_normalised_maps_of_present_classes():
    torch.manual_seed(0)
    model = MODELS.build(MODEL).eval()
    img = torch.randint(0, 256, (3, 30, 37), dtype=torch.uint8)
    data = dict(inputs=[img], data_samples=[_sample([0, 1, 0, 1], shape=(30, 37))])
    with torch.no_grad():  # as in mmengine's loops: GETAM turns gradients back on
        out = model.test_step(data)[0]
    cams = out.pred_cams
    assert cams.shape == (4, 30, 37)
    assert cams[[0, 2]].abs().sum() == 0
    # One backward pass maps all classes, yet a class's map does not depend on which
    # other classes are mapped with it.
    with torch.no_grad():
        alone = model.test_step(
            dict(inputs=[img], data_samples=[_sample([0, 1, 0, 0], shape=(30, 37))]))[0]
    # (float32 rounding of the batched backward, magnified by the normalisation)
    torch.testing.assert_close(cams[1], alone.pred_cams[1], rtol=0, atol=1e-3)
    assert alone.pred_cams[[0, 2, 3]].abs().sum() == 0
    # The maps are class-specific.
    assert (cams[1] - cams[3]).abs().max() > 1e-2
    assert out.pred_scores.shape == (4, )


def test_flip_tta_result_is_flip_invariant():
    """With flip TTA, a mirrored image gives the mirrored map."""
    torch.manual_seed(0)
    cfg = dict(MODEL, test_cfg=dict(scales=(1.0, ), flip=True))
    model = MODELS.build(cfg).eval()
    img = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    outs = []
    for im in (img, img.flip(-1)):
        data = dict(inputs=[im], data_samples=[_sample([1, 0, 0, 0])])
        outs.append(model.test_step(data)[0].pred_cams)
    torch.testing.assert_close(outs[0], outs[1].flip(-1), rtol=1e-3, atol=1e-4)
