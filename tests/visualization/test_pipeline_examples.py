import os

import cv2
import numpy as np
import pytest

from projects.acr.datasets.toy_meta import TOY_PALETTE
from projects.acr.pseudo_labels import cam_path, save_cams
from projects.acr.visualization.pipeline_examples import (colour_mask, example_row,
                                                          render_pipeline_examples)


def test_colour_mask_paints_palette_and_ignore():
    mask = np.array([[0, 1], [255, 5]], dtype=np.uint8)
    out = colour_mask(mask, TOY_PALETTE)
    assert out[0, 0].tolist() == list(TOY_PALETTE[0])
    assert out[0, 1].tolist() == list(TOY_PALETTE[1])
    assert out[1, 0].tolist() == [255, 255, 255]
    assert out[1, 1].tolist() == list(TOY_PALETTE[5])
    with pytest.raises(ValueError, match=r'\[7\]'):
        colour_mask(np.array([[7]]), TOY_PALETTE)


def test_example_row_tiles():
    image = np.full((4, 5, 3), 100, np.uint8)
    cams = np.zeros((1, 4, 5), np.float32)
    cams[0, :2] = 0.9  # above the threshold: coloured with class 3's colour
    pseudo = np.full((4, 5), 255, np.uint8)
    mask = np.zeros((4, 5), np.uint8)
    row = example_row(image, cams, np.array([2]), pseudo, mask, TOY_PALETTE, 0.5)
    assert row.shape == (4, 20, 3)
    np.testing.assert_array_equal(row[:, :5], image)
    maps = row[:, 5:10].astype(int)
    assert (maps[2:] == 100).all()  # background rows keep the image
    assert np.abs(maps[0, 0] - np.array(TOY_PALETTE[3])).sum() < np.abs(100 - maps[0, 0]).sum()
    assert (row[:, 10:15] == 255).all() and (row[:, 15:] == 0).all()
    with pytest.raises(ValueError, match='pseudo label'):
        example_row(image, cams, np.array([2]), pseudo[:2], mask, TOY_PALETTE, 0.5)


def test_render_reads_a_work_dir(tmp_path):
    data, work = tmp_path / 'data', tmp_path / 'work'
    for d in ('JPEGImages', 'SegmentationClassAug'):
        os.makedirs(data / d)
    os.makedirs(work / 'pseudo_labels')
    ids = ['a', 'b', 'c']
    for i, img_id in enumerate(ids):
        cv2.imwrite(str(data / 'JPEGImages' / f'{img_id}.jpg'), np.zeros((6, 8, 3), np.uint8))
        cv2.imwrite(str(data / 'SegmentationClassAug' / f'{img_id}.png'),
                    np.full((6, 8), i, np.uint8))
        cv2.imwrite(str(work / 'pseudo_labels' / f'{img_id}.png'), np.zeros((6, 8), np.uint8))
        save_cams(cam_path(str(work / 'cams'), img_id), np.zeros((1, 6, 8)), np.array([0]),
                  np.zeros(5))
    out = render_pipeline_examples(str(work), str(data), ids, TOY_PALETTE, 0.5, groups=2,
                                   scale=2, gap=4)
    # Two groups of two rows (a, b | c, blank), each row four 16 x 12 tiles.
    assert out.shape == (2 * 12 + 4, 2 * 64 + 4, 3)
    for top, left, cls in ((0, 0, 0), (16, 0, 1), (0, 68, 2)):  # the true-mask tiles
        tile = out[top:top + 12, left + 48:left + 64]
        assert (tile == np.array(TOY_PALETTE[cls], np.uint8)).all(), cls
    assert (out[12 + 4:, 64 + 4:] == 255).all()  # the blank filler
    with pytest.raises(FileNotFoundError, match='missing'):
        render_pipeline_examples(str(work), str(data), ['zzz'], TOY_PALETTE, 0.5)
