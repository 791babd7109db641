import importlib.util
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from projects.acr.datasets import voc_palette
from projects.acr.pseudo_labels import cam_path, save_cams

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'make_pseudo_labels.py')
TOY_CONFIG = osp.join(REPO_ROOT, 'configs', 'acr', 'vit-tiny_toy.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('make_pseudo_labels', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(scope='module')
def toy(tmp_path_factory, shared_toy_dataset):
    """A toy VOC tree and class maps made from its true masks plus noise."""
    base = tmp_path_factory.mktemp('pseudo_labels')
    root = shared_toy_dataset(num_train=4, num_val=4, img_size=48, seed=0)
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'train_aug.txt')) as f:
        ids = f.read().split()
    cam_dir = str(base / 'cams')
    rng = np.random.default_rng(0)
    present = {}
    for img_id in ids:
        mask = np.asarray(Image.open(osp.join(root, 'SegmentationClassAug', img_id + '.png')))
        classes = np.array([c for c in np.unique(mask) if 0 < c < 255], dtype=np.int64)
        cams = np.stack([(mask == c) * 0.85 for c in classes]).astype(np.float32)
        cams = np.clip(cams + rng.uniform(0, 0.1, cams.shape), 0, 1)
        save_cams(cam_path(cam_dir, img_id), cams, classes - 1)
        present[img_id] = classes
    return dict(root=root, ids=ids, cam_dir=cam_dir, present=present)


def run(toy, out_dir, *extra, cam_dir=None):
    return tool.main(['--cam-dir', cam_dir or toy['cam_dir'], '--data-root', toy['root'],
                      '--out-dir', str(out_dir), *extra])


def read_outputs(out_dir, ids):
    return {img_id: Image.open(osp.join(out_dir, img_id + '.png')) for img_id in ids}


def file_bytes(out_dir, ids):
    out = {}
    for img_id in ids:
        with open(osp.join(out_dir, img_id + '.png'), 'rb') as f:
            out[img_id] = f.read()
    return out


def test_writes_voc_palette_pngs_with_valid_values(toy, tmp_path):
    summary = run(toy, tmp_path)
    assert summary == dict(written=4, skipped=0, failed=0, total=4)
    palette = [v for rgb in voc_palette(256) for v in rgb]
    accuracy = []
    for img_id, img in read_outputs(tmp_path, toy['ids']).items():
        assert img.mode == 'P'
        assert img.getpalette() == palette
        label = np.asarray(img)
        assert label.shape == (48, 48)
        allowed = {0, 255} | set(toy['present'][img_id].tolist())
        assert set(np.unique(label).tolist()) <= allowed
        truth = np.asarray(
            Image.open(osp.join(toy['root'], 'SegmentationClassAug', img_id + '.png')))
        kept = label != 255
        accuracy.append((label == truth)[kept].mean())
    # Maps made from the true masks give labels that mostly agree with them.
    assert np.mean(accuracy) > 0.9
    # Besides the labels, only the record of the settings that made them.
    assert [n for n in os.listdir(tmp_path) if not n.endswith('.png')] == ['pseudo_labels.json']


def test_a_rerun_with_other_alphas_into_the_same_folder_is_refused(toy, tmp_path):
    run(toy, tmp_path, '--no-crf')
    os.remove(osp.join(tmp_path, toy['ids'][0] + '.png'))
    with pytest.raises(ValueError, match='alpha'):
        run(toy, tmp_path, '--no-crf', '--alpha-high', '6')
    assert not osp.exists(osp.join(tmp_path, toy['ids'][0] + '.png'))


def test_rerun_skips_existing_and_force_rewrites(toy, tmp_path):
    run(toy, tmp_path, '--no-crf')
    first = file_bytes(tmp_path, toy['ids'])
    stamps = {i: os.stat(osp.join(tmp_path, i + '.png')).st_mtime_ns for i in toy['ids']}
    assert run(toy, tmp_path, '--no-crf') == dict(written=0, skipped=4, failed=0, total=4)
    assert stamps == {i: os.stat(osp.join(tmp_path, i + '.png')).st_mtime_ns
                      for i in toy['ids']}
    os.remove(osp.join(tmp_path, toy['ids'][1] + '.png'))
    assert run(toy, tmp_path, '--no-crf') == dict(written=1, skipped=3, failed=0, total=4)
    assert run(toy, tmp_path, '--no-crf', '--force')['written'] == 4
    assert file_bytes(tmp_path, toy['ids']) == first


def test_two_workers_give_the_same_files(toy, tmp_path):
    run(toy, tmp_path / 'one', '--workers', '1')
    summary = run(toy, tmp_path / 'two', '--workers', '2', '--chunksize', '1')
    assert summary['written'] == 4
    assert file_bytes(tmp_path / 'one', toy['ids']) == file_bytes(tmp_path / 'two', toy['ids'])


def test_threshold_mode_and_config_input(toy, tmp_path):
    summary = tool.main([
        '--cam-dir', toy['cam_dir'], '--config', TOY_CONFIG, '--cfg-options',
        f'train_dataloader.dataset.data_root={toy["root"]}', '--out-dir',
        str(tmp_path), '--mode', 'threshold', '--bg-thr', '0.5', '--no-crf'
    ])
    assert summary['written'] == 4
    for img_id, img in read_outputs(tmp_path, toy['ids']).items():
        data = np.load(cam_path(toy['cam_dir'], img_id))
        cams = data['cams'].astype(np.float32)
        ref = np.where(cams.max(0) > 0.5, data['class_ids'][cams.argmax(0)] + 1, 0)
        np.testing.assert_array_equal(np.asarray(img), ref)


def test_missing_class_maps(toy, tmp_path):
    cam_dir = str(tmp_path / 'cams')
    shutil.copytree(toy['cam_dir'], cam_dir)
    gone = cam_path(cam_dir, toy['ids'][2])
    os.remove(gone)
    with pytest.raises(FileNotFoundError, match=re.escape(gone)):
        run(toy, tmp_path / 'out', cam_dir=cam_dir)
    assert not osp.exists(tmp_path / 'out')  # nothing written before the check
    with pytest.warns(UserWarning, match='missing for 1 images'):
        summary = run(toy, tmp_path / 'out', '--on-missing', 'skip', cam_dir=cam_dir)
    assert summary == dict(written=3, skipped=0, failed=1, total=4)
    assert not osp.exists(osp.join(tmp_path, 'out', toy['ids'][2] + '.png'))


def test_size_mismatch_names_both_files(toy, tmp_path):
    cam_dir = str(tmp_path / 'cams')
    shutil.copytree(toy['cam_dir'], cam_dir)
    bad = cam_path(cam_dir, toy['ids'][0])
    save_cams(bad, np.zeros((1, 40, 48), np.float32), [0])
    image = osp.join(toy['root'], 'JPEGImages', toy['ids'][0] + '.jpg')
    for extra in ([], ['--no-crf']):
        with pytest.raises(ValueError, match='size mismatch') as info:
            run(toy, tmp_path / f'out{len(extra)}', *extra, cam_dir=cam_dir)
        assert bad in str(info.value) and image in str(info.value)


def test_interrupted_write_leaves_no_partial_file(toy, tmp_path, monkeypatch):
    real_save = Image.Image.save

    def save_then_die(self, fp, *args, **kwargs):
        fp.write(b'\x89PNG\r\n\x1a\n truncated')
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, 'save', save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(toy, tmp_path, '--no-crf')
    # Neither a final name nor a temporary file; only the settings record.
    assert os.listdir(tmp_path) == ['pseudo_labels.json']

    monkeypatch.setattr(Image.Image, 'save', real_save)
    assert run(toy, tmp_path, '--no-crf')['written'] == 4
    for img in read_outputs(tmp_path, toy['ids']).values():
        assert np.asarray(img).shape == (48, 48)


def test_argument_errors(toy, tmp_path):
    with pytest.raises(SystemExit):
        run(toy, tmp_path, '--mode', 'threshold')
    with pytest.raises(SystemExit):
        run(toy, tmp_path, '--bg-thr', '0.3')  # power mode takes alphas
    with pytest.raises(SystemExit):
        tool.main(['--cam-dir', toy['cam_dir'], '--out-dir', str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='not-there'):
        run(toy, tmp_path, '--ann-file', 'not-there.txt')


@pytest.mark.slow  # launches two processes under torchrun
def test_torchrun_two_processes_share_the_list(toy, tmp_path):
    run(toy, tmp_path / 'one', '--no-crf')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
         TOOL, '--cam-dir', toy['cam_dir'], '--data-root', toy['root'], '--out-dir',
         str(tmp_path / 'two'), '--no-crf', '--launcher', 'pytorch'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Each process made its own half; the first reports the sum over both.
    assert 'share 1/2' in proc.stdout and 'share 2/2' in proc.stdout
    assert "all 2 processes: {'written': 4, 'skipped': 0, 'failed': 0, 'total': 4}" \
        in proc.stdout
    assert file_bytes(tmp_path / 'two', toy['ids']) == file_bytes(tmp_path / 'one', toy['ids'])
