import numpy as np
import pytest
from PIL import Image

from projects.acr.visualization import (argmax_overlay, heatmap_overlay, render_cam_overlay,
                                        save_overlay)

PALETTE = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]


def test_argmax_colours_follow_the_strongest_class():
    image = np.full((4, 6, 3), 100, np.uint8)
    cams = np.zeros((2, 4, 6), np.float32)
    cams[0, :, :3] = 1.0  # class index 0 -> palette[1] (red) on the left
    cams[1, :, 3:] = 0.5  # class index 2 -> palette[3] (blue) on the right, half strength
    out = argmax_overlay(image, cams, [0, 2], PALETTE, alpha=1.0)
    np.testing.assert_array_equal(out[:, :3], np.broadcast_to([255, 0, 0], (4, 3, 3)))
    # Opacity follows the score: half way between the image and blue.
    np.testing.assert_array_equal(out[:, 3:], np.broadcast_to([50, 50, 178], (4, 3, 3)))
    thr = argmax_overlay(image, cams, [0, 2], PALETTE, alpha=1.0, bg_threshold=0.6)
    np.testing.assert_array_equal(thr[:, 3:], image[:, 3:])
    np.testing.assert_array_equal(argmax_overlay(image, cams[:0], [], PALETTE), image)


def test_heatmap_tiles_and_resizing():
    image = np.zeros((10, 12, 3), np.uint8)
    cams = np.random.default_rng(0).random((2, 5, 6)).astype(np.float32)
    out = render_cam_overlay(image, cams, [1, 3], PALETTE, ['bg', 'a', 'b', 'c', 'd'],
                             mode='heatmap')
    assert out.shape == (10, 36, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :12], image)
    assert render_cam_overlay(image, cams, [1, 2], PALETTE).shape == (10, 12, 3)
    with pytest.raises(ValueError, match='overlay mode'):
        render_cam_overlay(image, cams, [1, 2], PALETTE, mode='bogus')
    with pytest.raises(ValueError, match='cams must be'):
        heatmap_overlay(image, cams, [1])


def test_save_overlay_writes_rgb_png(tmp_path):
    picture = np.zeros((3, 4, 3), np.uint8)
    picture[..., 0] = 200
    path = tmp_path / 'sub' / 'x.png'
    save_overlay(str(path), picture)
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert('RGB')), picture)
