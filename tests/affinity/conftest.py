import numpy as np
import pytest
from affinity_test_utils import shapes_sample, write_png
from PIL import Image


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
