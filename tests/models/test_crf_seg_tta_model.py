import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from PIL import Image

from projects.acr.models.segmentors import DEEPLAB_CRF, CRFSegTTAModel

SEGMENTER = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor'),
    backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                  norm_cfg=dict(type='BN')),
    decode_head=dict(type='ASPPSumHead', in_channels=64, num_classes=3, dilations=(1, 2)))


def _views(img_path, logits, gt=None):
    """One image's augmented predictions: SegDataSamples with seg_logits (C, H, W)."""
    views = []
    for view_logits in logits:
        sample = SegDataSample(metainfo=dict(img_path=img_path, ori_shape=logits.shape[2:]))
        sample.seg_logits = PixelData(data=view_logits)
        if gt is not None:
            sample.gt_sem_seg = PixelData(data=gt[None])
        views.append(sample)
    return views


def _write_halves(path, height=20, width=24):
    """Left half red, right half blue; returns the RGB image and its two-region labels."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :width // 2] = (220, 30, 30)
    image[:, width // 2:] = (30, 30, 220)
    Image.fromarray(image).save(path)
    regions = np.zeros((height, width), np.int64)
    regions[:, width // 2:] = 1
    return image, regions


def test_without_crf_it_is_mmseg_tta():
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 10, 12)
    ours = MODELS.build(dict(type='CRFSegTTAModel', module=SEGMENTER))
    theirs = SegTTAModel(module=SEGMENTER)
    a = ours.merge_preds([_views('x.jpg', logits)])[0]
    b = theirs.merge_preds([_views('x.jpg', logits)])[0]
    assert ours.crf is None
    torch.testing.assert_close(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_crf_refines_the_mean_softmax_on_the_image(tmp_path):
    pytest.importorskip('pydensecrf.densecrf')
    from projects.acr.pseudo_labels.crf import DenseCRF

    img_path = str(tmp_path / 'halves.png')
    image, regions = _write_halves(img_path)
    rng = np.random.default_rng(0)
    # Views that agree with the colour regions, plus scattered confident mistakes.
    logits = np.full((3, 3, 20, 24), -2.0, np.float32)
    for v in range(3):
        wrong = rng.random((20, 24)) < 0.15
        label = np.where(wrong, (regions + 1 + (v % 2)) % 3, regions)
        np.put_along_axis(logits[v], label[None], 2.0, axis=0)
    logits = torch.from_numpy(logits)
    gt = torch.from_numpy(regions)

    model = CRFSegTTAModel(module=SEGMENTER, dense_crf=True)
    out = model.merge_preds([_views(img_path, logits, gt)])[0]

    probs = sum(torch.softmax(logits[v], dim=0) for v in range(3)) / 3
    expected = DenseCRF(**DEEPLAB_CRF)(probs.numpy(), image).argmax(axis=0)
    np.testing.assert_array_equal(out.pred_sem_seg.data[0].numpy(), expected)
    torch.testing.assert_close(out.gt_sem_seg.data[0], gt)
    assert out.img_path == img_path
    # The colour edge is where the labels change: the CRF removes the scattered mistakes.
    plain = probs.argmax(0).numpy()
    assert (expected == regions).mean() > (plain == regions).mean()
    assert (expected == regions).mean() > 0.98


def test_crf_needs_predictions_at_the_image_size(tmp_path):
    pytest.importorskip('pydensecrf.densecrf')
    img_path = str(tmp_path / 'halves.png')
    _write_halves(img_path)
    model = CRFSegTTAModel(module=SEGMENTER, dense_crf=True, crf_cfg=dict(n_iters=2))
    with pytest.raises(ValueError, match='halves.png'):
        model.merge_preds([_views(img_path, torch.randn(2, 3, 10, 12))])
