import numpy as np
import pytest

from projects.acr.pseudo_labels import (background_score, background_stack, labels_from_stack,
                                        power_background, score_stack, threshold_background)
from projects.acr.pseudo_labels.background import check_class_ids, max_class_score


@pytest.fixture
def cams():
    return np.random.default_rng(0).uniform(0, 1, (3, 7, 9)).astype(np.float32)


def test_threshold_background_is_constant(cams):
    bg = threshold_background(cams, 0.35)
    assert bg.shape == (7, 9) and bg.dtype == np.float32
    np.testing.assert_array_equal(bg, np.float32(0.35))
    np.testing.assert_array_equal(background_score(cams, 'threshold', bg_thr=0.35), bg)


@pytest.mark.parametrize('alpha', [1.0, 4.0, 12.0, 0.5])
def test_power_background_matches_formula(cams, alpha):
    ref = (1.0 - cams.max(axis=0)) ** alpha
    np.testing.assert_allclose(power_background(cams, alpha), ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(background_score(cams, 'power', alpha=alpha), ref, rtol=1e-5,
                               atol=1e-7)


def test_power_background_is_one_without_maps_and_clips():
    empty = np.zeros((0, 4, 5), np.float32)
    np.testing.assert_array_equal(max_class_score(empty), 0)
    np.testing.assert_array_equal(power_background(empty, 12), 1)
    out_of_range = np.full((1, 2, 2), 1.5, np.float32)
    np.testing.assert_array_equal(power_background(out_of_range, 2), 0)


def test_higher_alpha_gives_weaker_background(cams):
    fg = [(labels_from_stack(background_stack(cams, 'power', alpha=a), [0, 1, 2]) > 0).sum()
          for a in (1, 4, 12)]
    assert fg[0] <= fg[1] <= fg[2]
    assert fg[0] < fg[2]


def test_score_stack_puts_background_first(cams):
    bg = power_background(cams, 2)
    stack = score_stack(cams, bg)
    assert stack.shape == (4, 7, 9) and stack.dtype == np.float32
    np.testing.assert_array_equal(stack[0], bg)
    np.testing.assert_array_equal(stack[1:], cams)
    np.testing.assert_array_equal(score_stack(cams, 0.2)[0], np.float32(0.2))


def test_labels_from_stack_maps_ids_and_ties_go_to_background():
    cams = np.array([[[0.9, 0.1, 0.5]], [[0.2, 0.8, 0.3]]], np.float32)  # (2, 1, 3)
    stack = score_stack(cams, 0.5)
    label = labels_from_stack(stack, [6, 14])
    assert label.dtype == np.uint8
    # 0.5 == bg at the last pixel: background wins the tie.
    np.testing.assert_array_equal(label, [[7, 15, 0]])


def test_threshold_labels_equal_plain_reference(cams):
    ids = np.array([2, 0, 9])
    label = labels_from_stack(background_stack(cams, 'threshold', bg_thr=0.6), ids)
    ref = np.where(cams.max(0) > 0.6, ids[cams.argmax(0)] + 1, 0)
    np.testing.assert_array_equal(label, ref)


def test_bad_arguments_are_named():
    cams = np.zeros((2, 3, 3), np.float32)
    with pytest.raises(ValueError, match='needs bg_thr'):
        background_score(cams, 'threshold')
    with pytest.raises(ValueError, match='needs alpha'):
        background_score(cams, 'power')
    with pytest.raises(ValueError, match='unknown background mode'):
        background_score(cams, 'otsu', bg_thr=0.1)
    with pytest.raises(ValueError, match='alpha must be > 0'):
        power_background(cams, 0)
    with pytest.raises(ValueError, match=r'\(K, H, W\)'):
        power_background(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match='3 class ids for 2 class maps'):
        check_class_ids([0, 1, 2], 2)
    with pytest.raises(ValueError, match='distinct'):
        check_class_ids([1, 1], 2)
    with pytest.raises(ValueError, match='ignore index'):
        check_class_ids([0, 254], 2)
    with pytest.raises(ValueError, match='ignore index'):
        check_class_ids([-1], 1)
