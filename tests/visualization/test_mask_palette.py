import numpy as np
import pytest

from projects.acr.datasets.toy_meta import TOY_PALETTE
from projects.acr.visualization.mask_palette import IGNORE_COLOUR, colour_mask

VOC_LIKE_PALETTE = np.random.default_rng(1).integers(0, 256, (21, 3)).astype(np.uint8)


def reference_colour(mask, palette, ignore_index=255):
    """Plain numpy: each pixel takes its label's colour, ignored pixels white."""
    palette = np.asarray(palette, dtype=np.uint8)
    out = np.zeros(mask.shape + (3, ), dtype=np.uint8)
    for label, rgb in enumerate(palette):
        out[mask == label] = rgb
    out[mask == ignore_index] = 255
    return out


def random_mask(num_classes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.append(np.arange(num_classes), 255)
    return rng.choice(labels, size=(17, 23)).astype(dtype)


@pytest.mark.parametrize('palette', [TOY_PALETTE, VOC_LIKE_PALETTE])
@pytest.mark.parametrize('dtype', [np.uint8, np.int64])
def test_matches_plain_reference(palette, dtype):
    mask = random_mask(len(palette), dtype)
    out = colour_mask(mask, palette)
    assert out.dtype == np.uint8 and out.shape == mask.shape + (3, )
    np.testing.assert_array_equal(out, reference_colour(mask, palette))
    assert IGNORE_COLOUR == (255, 255, 255)


def test_same_bytes_as_the_former_copies():
    """The clip-and-whiten and the float-table colourisers gave these bytes on valid masks."""
    palette = np.asarray(TOY_PALETTE, dtype=np.uint8)
    mask = random_mask(len(palette), np.uint8, seed=3)
    clipped = palette[np.clip(mask, 0, len(palette) - 1)]
    clipped[mask == 255] = 255
    table = np.zeros((256, 3), dtype=np.float64)
    table[:len(palette)] = palette
    table[255] = 255
    out = colour_mask(mask, palette)
    assert out.tobytes() == clipped.tobytes()
    np.testing.assert_array_equal(out.astype(np.float64), table[mask])


def test_other_ignore_index():
    mask = np.array([[0, 2], [7, 1]])
    out = colour_mask(mask, TOY_PALETTE, ignore_index=7)
    assert out[1, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == list(TOY_PALETTE[2])


def test_label_without_colour_is_named():
    with pytest.raises(ValueError, match=r'\[6, 9\].*palette of 6'):
        colour_mask(np.array([[6, 9, 255]]), TOY_PALETTE)
