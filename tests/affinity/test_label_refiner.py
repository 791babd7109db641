import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmseg.models import SegDataPreProcessor
from PIL import Image

from projects.acr.affinity import AffinityGraph, AffinityLabelRefiner, grid_scores
from projects.acr.pseudo_labels import power_background, save_cams


class NoAffinity(torch.nn.Module):
    """A stand-in affinity model whose graphs have no pairs: the walk is the identity."""

    stride = 8

    def __init__(self):
        super().__init__()
        self.data_preprocessor = SegDataPreProcessor(mean=[0, 0, 0], std=[1, 1, 1])
        self.w = torch.nn.Parameter(torch.zeros(1))

    def predict(self, inputs):
        h, w = -(-inputs.shape[2] // 8), -(-inputs.shape[3] // 8)
        none = torch.zeros(0, dtype=torch.long)
        return [AffinityGraph(h, w, none, none, torch.zeros(0)) for _ in inputs]


def make_case(tmp_path, ids=('a', 'b')):
    rng = np.random.default_rng(0)
    cam_dir, img_dir = tmp_path / 'cams', tmp_path / 'img'
    cam_dir.mkdir(), img_dir.mkdir()
    items = []
    for i in ids:
        Image.fromarray(rng.integers(0, 255, (30, 21, 3)).astype(np.uint8)).save(
            img_dir / f'{i}.png')
        save_cams(str(cam_dir / f'{i}.npz'), rng.random((2, 30, 21)).astype(np.float32),
                  np.array([4, 11]), rng.random(20).astype(np.float32))
        items.append((i, str(img_dir / f'{i}.png')))
    return cam_dir, items


def test_identity_walk_labels_equal_plain_reference(tmp_path):
    cam_dir, items = make_case(tmp_path)
    out = tmp_path / 'out'
    refiner = AffinityLabelRefiner(NoAffinity(), str(cam_dir), str(out), alpha=4, logt=3,
                                   progress=False)
    summary = refiner.run(items)
    assert sorted(summary.done) == ['a', 'b'] and not summary.failed
    label = np.array(Image.open(out / 'a.png'))
    cams = np.load(cam_dir / 'a.npz')['cams'].astype(np.float32)
    stack = torch.from_numpy(np.concatenate([power_background(cams, 4)[None], cams]))
    grid = grid_scores(stack, (4, 3), 8)
    up = F.interpolate(grid[None], size=(32, 24), mode='bilinear', align_corners=False)[0]
    ref = np.array([0, 5, 12])[up[:, :30, :21].argmax(0).numpy()]
    assert label.shape == (30, 21) and np.array_equal(label, ref)

    # Resume: existing files are kept and counted.
    again = refiner.run(items)
    assert sorted(again.existing) == ['a', 'b'] and not again.done


def test_constant_background_of_mctformer_walk(tmp_path):
    cam_dir, items = make_case(tmp_path, ids=('a',))
    out = tmp_path / 'out'
    refiner = AffinityLabelRefiner(NoAffinity(), str(cam_dir), str(out), bg_thr=0.39, logt=2,
                                   progress=False)
    assert refiner.run(items).done == ['a']
    cams = np.load(cam_dir / 'a.npz')['cams'].astype(np.float32)
    stack = torch.from_numpy(np.concatenate([np.full((1, 30, 21), 0.39, np.float32), cams]))
    up = F.interpolate(grid_scores(stack, (4, 3), 8)[None], size=(32, 24), mode='bilinear',
                       align_corners=False)[0]
    ref = np.array([0, 5, 12])[up[:, :30, :21].argmax(0).numpy()]
    assert np.array_equal(np.array(Image.open(out / 'a.png')), ref)
    with pytest.raises(ValueError, match='bg_thr'):
        AffinityLabelRefiner(NoAffinity(), str(cam_dir), str(out), bg_thr=1.5)


def test_missing_maps_are_named_or_counted(tmp_path):
    cam_dir, items = make_case(tmp_path)
    (cam_dir / 'b.npz').unlink()
    refiner = AffinityLabelRefiner(NoAffinity(), str(cam_dir), str(tmp_path / 'o'),
                                   progress=False)
    with pytest.raises(RuntimeError, match=r"'b'.*class maps missing"):
        refiner.run(items)
    refiner.on_error = 'skip'
    summary = refiner.run(items)
    assert summary.failed == ['b'] and summary.existing == ['a']


def test_size_mismatch_is_named(tmp_path):
    cam_dir, items = make_case(tmp_path, ids=('a',))
    save_cams(str(cam_dir / 'a.npz'), np.zeros((1, 10, 10), np.float32), np.array([0]),
              np.zeros(20, np.float32))
    refiner = AffinityLabelRefiner(NoAffinity(), str(cam_dir), str(tmp_path / 'o'),
                                   progress=False)
    with pytest.raises(RuntimeError, match=r'a\.npz.*do not fit the 30x21 image'):
        refiner.run(items)


def test_settings_of_a_resumed_run_must_match(tmp_path):
    from projects.acr.affinity import check_refine_settings
    check_refine_settings(str(tmp_path), dict(alpha=16, beta=8))
    check_refine_settings(str(tmp_path), dict(alpha=16, beta=8))
    with pytest.raises(ValueError, match='alpha: 16 there, 8 now'):
        check_refine_settings(str(tmp_path), dict(alpha=8, beta=8))
    assert json.loads((tmp_path / 'refine_settings.json').read_text())['alpha'] == 16
