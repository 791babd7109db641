import torch
from mmseg.structures import SegDataSample

from projects.acr.models.data_preprocessors import MultiViewDataPreprocessor


def _reference(img, mean, std):
    img = img.float().flip(-3)  # BGR -> RGB
    return (img - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


def test_normalises_and_pads_single_images_to_the_divisor():
    mean, std = (10., 20., 30.), (2., 4., 8.)
    pre = MultiViewDataPreprocessor(mean=mean, std=std, size_divisor=8, pad_val=-1.)
    imgs = [torch.randint(0, 255, (3, 10, 13), dtype=torch.uint8),
            torch.randint(0, 255, (3, 7, 16), dtype=torch.uint8)]
    samples = [SegDataSample(), SegDataSample()]
    out = pre(dict(inputs=imgs, data_samples=samples))
    assert out['inputs'].shape == (2, 3, 16, 16)
    torch.testing.assert_close(out['inputs'][0, :, :10, :13], _reference(imgs[0], mean, std))
    assert (out['inputs'][0, :, 10:] == -1).all() and (out['inputs'][1, :, 7:] == -1).all()
    assert out['data_samples'][0].batch_input_shape == (16, 16)


def test_views_keep_their_axis():
    pre = MultiViewDataPreprocessor(size_divisor=4)
    imgs = [torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8) for _ in range(3)]
    out = pre(dict(inputs=imgs, data_samples=None))
    assert out['inputs'].shape == (3, 2, 3, 8, 8)
    torch.testing.assert_close(out['inputs'][2, 1],
                               _reference(imgs[2][1], pre.mean.flatten().tolist(),
                                          pre.std.flatten().tolist()))
