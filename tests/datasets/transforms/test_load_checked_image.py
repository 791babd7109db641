# Copyright (c) ACR-WSSS contributors. All rights reserved.
import logging
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmengine.logging import MMLogger
from mmseg.registry import TRANSFORMS
from PIL import Image

from projects.acr.datasets import ToyClsDataset
from projects.acr.datasets.transforms import LoadCheckedImageFromFile, decode_image_bgr
from projects.acr.toy_data import make_toy_dataset


def block_image(rng, height=40, width=48):
    """An RGB image of constant 8x8 blocks, which JPEG stores almost losslessly."""
    blocks = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)


def load(path, **kwargs):
    return LoadCheckedImageFromFile(**kwargs)(dict(img_path=str(path)))


def composite_reference(rgba, background=255):
    """Per-pixel "over" compositing in float, rounded half up."""
    rgb = rgba[..., :3].astype(np.float64)
    alpha = rgba[..., 3:].astype(np.float64) / 255
    return np.floor(rgb * alpha + background * (1 - alpha) + 0.5).astype(np.uint8)


def test_rgb_matches_mmcv_loader(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (33, 41, 3), dtype=np.uint8)
    path = tmp_path / 'rgb.png'
    Image.fromarray(rgb).save(path)
    ours = load(path)
    theirs = LoadImageFromFile()(dict(img_path=str(path)))
    np.testing.assert_array_equal(ours['img'], theirs['img'])
    np.testing.assert_array_equal(ours['img'], rgb[..., ::-1])
    assert ours['img'].dtype == np.uint8 and ours['img'].flags['C_CONTIGUOUS']
    assert ours['img_shape'] == ours['ori_shape'] == (33, 41)
    as_float = load(path, to_float32=True)['img']
    assert as_float.dtype == np.float32
    np.testing.assert_array_equal(as_float, rgb[..., ::-1].astype(np.float32))


def test_built_from_registry():
    transform = TRANSFORMS.build(dict(type='LoadCheckedImageFromFile', on_error='skip'))
    assert isinstance(transform, LoadCheckedImageFromFile)
    assert "on_error='skip'" in repr(transform)
    with pytest.raises(ValueError, match='on_error'):
        LoadCheckedImageFromFile(on_error='ignore')


@pytest.mark.parametrize('suffix', ['.png', '.jpg'])
def test_grayscale_becomes_three_equal_channels(tmp_path, suffix):
    grey = block_image(np.random.default_rng(1))[..., 0]
    path = tmp_path / f'grey{suffix}'
    Image.fromarray(grey, mode='L').save(path)
    img = load(path)['img']
    assert img.shape == (40, 48, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[..., 0], img[..., 1])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    if suffix == '.png':
        np.testing.assert_array_equal(img[..., 0], grey)
    else:
        assert np.abs(img[..., 0].astype(int) - grey).max() <= 3


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path):
    grey16 = np.arange(0, 65536, 64, dtype=np.uint16).reshape(32, 32)
    path = tmp_path / 'grey16.png'
    Image.fromarray(grey16).save(path)
    assert Image.open(path).mode.startswith('I;16')
    img = load(path)['img']
    np.testing.assert_array_equal(img, np.repeat((grey16 >> 8).astype(np.uint8)[..., None],
                                                 3, axis=-1))


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    rgb = block_image(np.random.default_rng(2))
    path = tmp_path / 'cmyk.jpg'
    Image.fromarray(rgb).convert('CMYK').save(path, quality=100)
    assert Image.open(path).mode == 'CMYK'
    img = load(path)['img']
    assert img.shape == (40, 48, 3)
    # Close to the source colours, and to OpenCV's own CMYK decoding of the file.
    assert np.abs(img.astype(int) - rgb[..., ::-1]).mean() < 3
    reference = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert np.abs(img.astype(int) - reference).max() <= 4


def test_rgba_is_composited_on_white(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (36, 44, 4), dtype=np.uint8)
    rgba[0, :, 3] = 0  # fully transparent row: pure white whatever the stored colour
    rgba[1, :, 3] = 255  # opaque row: the stored colour
    path = tmp_path / 'rgba.png'
    Image.fromarray(rgba, mode='RGBA').save(path)
    img = load(path)['img']
    expected = composite_reference(rgba)
    np.testing.assert_array_equal(img, expected[..., ::-1])
    assert (img[0] == 255).all()
    np.testing.assert_array_equal(img[1], rgba[1, :, 2::-1])
    black = load(path, alpha_background=0)['img']
    np.testing.assert_array_equal(black, composite_reference(rgba, 0)[..., ::-1])


def test_grey_with_alpha(tmp_path):
    la = np.zeros((32, 40, 2), dtype=np.uint8)
    la[..., 0] = 60
    la[:, 20:, 1] = 255  # left half transparent, right half opaque
    path = tmp_path / 'la.png'
    Image.fromarray(la, mode='LA').save(path)
    img = load(path)['img']
    assert (img[:, :20] == 255).all() and (img[:, 20:] == 60).all()


def test_palette_png_uses_palette_colours(tmp_path):
    rng = np.random.default_rng(4)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    index = rng.integers(0, 16, (30, 34), dtype=np.uint8)
    path = tmp_path / 'palette.png'
    pimg = Image.fromarray(index, mode='P')
    pimg.putpalette(palette.ravel().tolist())
    pimg.save(path)
    np.testing.assert_array_equal(load(path)['img'], palette[index][..., ::-1])

    # A palette entry marked transparent is composited on white.
    pimg.save(path, transparency=3)
    expected = palette[index][..., ::-1].copy()
    expected[index == 3] = 255
    np.testing.assert_array_equal(load(path)['img'], expected)


def test_missing_file_names_it(tmp_path):
    path = tmp_path / 'nowhere' / 'img.jpg'
    with pytest.raises(FileNotFoundError, match=r'nowhere/img\.jpg: image file not found'):
        load(path)


def test_truncated_and_corrupt_files_name_them(tmp_path):
    path = tmp_path / 'truncated.jpg'
    Image.fromarray(block_image(np.random.default_rng(5), 64, 64)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(OSError, match=r'truncated\.jpg: cannot decode image \(truncated'):
        load(path)
    junk = tmp_path / 'junk.png'
    junk.write_bytes(b'this is not an image')
    with pytest.raises(OSError, match=r'junk\.png: cannot decode image'):
        load(junk)
    with pytest.raises(OSError, match='<bytes>: cannot decode'):
        decode_image_bgr(data[:100])


class ListHandler(logging.Handler):

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_log():
    handler = ListHandler()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def test_skip_mode_returns_none_and_counts(tmp_path, warnings_log):
    good = tmp_path / 'good.png'
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(good)
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    missing = tmp_path / 'missing.jpg'
    transform = LoadCheckedImageFromFile(on_error='skip')
    assert transform.num_skipped == 0 and 'no image skipped' in transform.summary()
    assert transform(dict(img_path=str(bad))) is None
    assert transform(dict(img_path=str(good)))['img'].shape == (8, 8, 3)
    assert transform(dict(img_path=str(missing))) is None
    assert transform.num_skipped == 2
    assert transform.skipped_paths == [str(bad), str(missing)]
    assert 'skipped 2 unreadable image(s)' in transform.summary()
    assert 'bad.jpg' in transform.summary()
    assert len(warnings_log) == 2
    assert 'bad.jpg: cannot decode image' in warnings_log[0]
    assert 'missing.jpg: image file not found' in warnings_log[1]
    assert '2 image(s) skipped so far' in warnings_log[1]


def test_skip_in_dataset_train_and_test_mode(tmp_path):
    """Training draws another image; test mode refuses to drop one."""
    root = str(tmp_path / 'toy')
    make_toy_dataset(root, num_train=3, num_val=1, img_size=32, seed=0)
    ids = open(osp.join(root, 'ImageSets', 'Segmentation', 'train_aug.txt')).read().split()
    bad_path = osp.join(root, 'JPEGImages', ids[0] + '.jpg')
    data = open(bad_path, 'rb').read()
    with open(bad_path, 'wb') as f:
        f.write(data[:len(data) // 3])
    pipeline = [dict(type='LoadCheckedImageFromFile', on_error='skip'),
                dict(type='PackClsInputs')]
    train_set = ToyClsDataset(data_root=root, pipeline=pipeline, label_cache=False)
    out = train_set[0]
    assert out['data_samples'].img_path != bad_path
    assert out['inputs'].shape == (3, 32, 32)
    assert train_set.pipeline.transforms[0].num_skipped >= 1

    test_set = ToyClsDataset(data_root=root, pipeline=pipeline, label_cache=False,
                             test_mode=True)
    with pytest.raises(Exception, match='None'):
        test_set[0]
    assert os.path.isfile(bad_path)


def test_exif_orientation_ignored_by_default(tmp_path):
    rgb = block_image(np.random.default_rng(6), 16, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / 'rotated.jpg'
    Image.fromarray(rgb).save(path, exif=exif, quality=100)
    # Masks are aligned with the stored pixels, so by default those are returned.
    assert load(path)['img'].shape == (16, 32, 3)
    rotated = load(path, exif_orientation=True)['img']
    assert rotated.shape == (32, 16, 3)
    np.testing.assert_array_equal(rotated, np.rot90(load(path)['img'], k=-1))
