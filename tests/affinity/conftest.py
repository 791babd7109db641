import os.path as osp

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'affinity', 'affinitynet_r18-d8_1xb8-6e_toy-96x96.py')


def write_png(path, array):
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def shapes_sample(rng, size=48):
    """An image with a bright square (class 1) and a dark disc (class 2) on grey noise,
    and its true mask."""
    img = rng.integers(100, 140, size=(size, size, 3)).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    y, x = rng.integers(4, size // 2 - 4, size=2)
    s = rng.integers(10, 16)
    mask[y:y + s, x:x + s] = 1
    img[y:y + s, x:x + s] = (230, 60, 40)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 2 + 6, size - 8, size=2)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < 36
    mask[disc] = 2
    img[disc] = (30, 40, 200)
    return img, mask


@pytest.fixture
def shapes_data(tmp_path):
    """A tiny VOC-style tree: 6 images, true masks, and pseudo labels with an ignore band
    (the masks eroded by a ring of 255)."""
    from scipy import ndimage
    rng = np.random.default_rng(0)
    root = tmp_path / 'shapes'
    for d in ('JPEGImages', 'SegmentationClassAug', 'ImageSets/Segmentation', 'labels'):
        (root / d).mkdir(parents=True)
    ids = [f'img_{i}' for i in range(6)]
    for i in ids:
        img, mask = shapes_sample(rng)
        Image.fromarray(img).save(root / 'JPEGImages' / f'{i}.jpg', quality=95)
        write_png(root / 'SegmentationClassAug' / f'{i}.png', mask)
        band = ndimage.binary_dilation(mask > 0, iterations=2) & \
            ~ndimage.binary_erosion(mask > 0, iterations=2)
        label = mask.copy()
        label[band] = 255
        write_png(root / 'labels' / f'{i}.png', label)
    for split in ('train_aug', 'train'):
        (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').write_text('\n'.join(ids) + '\n')
    return root
