import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from projects.acr.pseudo_labels import (LabelImages, PseudoLabelGenerator, PseudoLabelJob,
                                        PseudoLabelSummary, PseudoLabelWriter, cam_path,
                                        images_from_config, images_from_tree, save_cams)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'acr', 'vit-tiny_toy.py')


@pytest.fixture(scope='module')
def toy(tmp_path_factory, shared_toy_dataset):
    base = tmp_path_factory.mktemp('label_job')
    root = shared_toy_dataset(num_train=5, num_val=2, img_size=32, seed=0)
    images = images_from_tree(root)
    cam_dir = str(base / 'cams')
    for img_id in images.ids:
        mask = np.asarray(Image.open(osp.join(root, 'SegmentationClassAug', img_id + '.png')))
        classes = np.array([c for c in np.unique(mask) if 0 < c < 255], dtype=np.int64)
        save_cams(cam_path(cam_dir, img_id),
                  np.stack([(mask == c).astype(np.float32) for c in classes]), classes - 1)
    return dict(root=root, images=images, cam_dir=cam_dir)


def make_job(toy, out_dir, **kwargs):
    writer = PseudoLabelWriter(PseudoLabelGenerator(mode='threshold', bg_thr=0.5, crf=False))
    return PseudoLabelJob(writer, toy['cam_dir'], str(out_dir), progress=False, **kwargs)


def test_ranks_split_the_list_without_overlap(toy, tmp_path):
    n = len(toy['images'])
    summaries = []
    for rank in range(2):
        before = set(os.listdir(tmp_path)) if tmp_path.exists() else set()
        summaries.append(make_job(toy, tmp_path).run(toy['images'], rank, 2))
        new = {n for n in set(os.listdir(tmp_path)) - before if n.endswith('.png')}
        # Rank r writes the labels of images r, r + 2, ... of the list.
        assert new == {toy['images'].ids[i] + '.png' for i in range(rank, n, 2)}
    total = PseudoLabelSummary.merge(summaries)
    assert total.as_dict() == dict(written=n, skipped=0, failed=0, total=n)
    # A rerun by either rank finds its share done.
    again = make_job(toy, tmp_path).run(toy['images'], 1, 2)
    assert again.as_dict() == dict(written=0, skipped=n // 2, failed=0, total=n // 2)


def test_a_rerun_with_other_settings_is_refused_before_anything_is_written(toy, tmp_path):
    make_job(toy, tmp_path).run(toy['images'])
    record = tmp_path / 'pseudo_labels.json'
    assert record.is_file()
    victim = tmp_path / (toy['images'].ids[0] + '.png')
    victim.unlink()
    other = PseudoLabelJob(
        PseudoLabelWriter(PseudoLabelGenerator(mode='threshold', bg_thr=0.3, crf=False)),
        toy['cam_dir'], str(tmp_path), progress=False)
    with pytest.raises(ValueError, match='other settings.*background'):
        other.run(toy['images'])
    assert not victim.exists()
    powered = PseudoLabelJob(PseudoLabelWriter(PseudoLabelGenerator(crf=True)),
                             toy['cam_dir'], str(tmp_path), progress=False)
    with pytest.raises(ValueError, match='crf'):
        powered.run(toy['images'])
    # The same settings resume.
    assert make_job(toy, tmp_path).run(toy['images']).written == 1


def test_labels_equal_the_threshold_rule(toy, tmp_path):
    make_job(toy, tmp_path, workers=2, chunksize=1).run(toy['images'])
    for img_id in toy['images'].ids:
        stored = np.load(cam_path(toy['cam_dir'], img_id))
        cams = stored['cams'].astype(np.float32)
        want = np.where(cams.max(0) > 0.5, stored['class_ids'][cams.argmax(0)] + 1, 0)
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / f'{img_id}.png')), want)


def test_config_and_tree_give_the_same_list(toy):
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': toy['root']})
    from_config = images_from_config(cfg)
    assert from_config.ids == toy['images'].ids
    assert [osp.realpath(p) for p in from_config.img_files] == \
        [osp.realpath(p) for p in toy['images'].img_files]
    val = images_from_config(cfg, split='val', data_root=toy['root'])
    assert len(val) == 2 and all(i.startswith('toy_val_') for i in val.ids)


def test_bad_arguments_are_named(toy, tmp_path):
    with pytest.raises(ValueError, match='on_missing'):
        make_job(toy, tmp_path, on_missing='ignore')
    with pytest.raises(ValueError, match='workers'):
        make_job(toy, tmp_path, workers=0)
    with pytest.raises(ValueError, match='empty'):
        LabelImages([], [], 'list.txt')
    job = PseudoLabelJob(make_job(toy, tmp_path).writer, str(tmp_path / 'nope'), str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nope'):
        job.run(toy['images'])
