import importlib.util
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

from projects.acr.apis import CAMInferencer, ImageCAMInferencer, build_split_dataset
from projects.acr.datasets import TOY_CLASSES, TOY_PALETTE
from projects.acr.pseudo_labels import cam_path, load_cams

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(REPO, 'configs', 'acr', 'vit-tiny_toy.py')
DEMO = osp.join(REPO, 'demo', 'cam_demo.py')
# A two-block ViT on 48 px images with flip TTA; maps of predicted classes by default.
SMALL = {
    'model.backbone.timm_kwargs.img_size': 48,
    'model.backbone.timm_kwargs.depth': 2,
    'model.head.start_layer': 1,
    'model.test_cfg.scales': (1.0, ),
}


def small_cfg(root, **extra):
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.merge_from_dict(dict(SMALL, **{'test_dataloader.dataset.data_root': root}, **extra))
    return cfg


def save_checkpoint(cfg, path, seed=0):
    torch.manual_seed(seed)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='module')
def toy(tmp_path_factory, shared_toy_dataset):
    base = tmp_path_factory.mktemp('image_cams')
    root = shared_toy_dataset(num_train=2, num_val=3, img_size=48, seed=0)
    cfg = small_cfg(root)
    ckpt = save_checkpoint(cfg, str(base / 'model.pth'))
    folder = base / 'photos'
    folder.mkdir()
    val = build_split_dataset(cfg, split='val')
    for i in range(len(val)):
        shutil.copy(val.get_data_info(i)['img_path'], folder)
    (folder / 'notes.txt').write_text('not an image')
    return dict(root=root, cfg=cfg, ckpt=ckpt, folder=str(folder), val=val,
                inferencer=ImageCAMInferencer(cfg, ckpt))


def test_given_classes_match_the_dataset_inference(toy, tmp_path):
    """Maps of an image file equal the split inference's maps of the same image."""
    val, inferencer = toy['val'], toy['inferencer']
    CAMInferencer(inferencer.model, str(tmp_path), progress=False).run(val)
    for i in range(len(val)):
        info = val.get_data_info(i)
        names = [TOY_CLASSES[c + 1] for c in np.flatnonzero(info['img_labels'])]
        pred = inferencer(info['img_path'], classes=names)[0]
        stored = load_cams(cam_path(str(tmp_path), info['img_id']))
        np.testing.assert_array_equal(pred.class_ids, stored['class_ids'])
        assert pred.class_names == names
        np.testing.assert_allclose(pred.cams, stored['cams'], atol=1e-3)
        np.testing.assert_allclose(pred.scores, stored['scores'], rtol=1e-5)
        with Image.open(info['img_path']) as src:
            np.testing.assert_array_equal(pred.image, np.asarray(src.convert('RGB')))
    # The call leaves the model's own class selection as configured.
    assert inferencer.model.test_cfg['use_gt_labels'] is True


def test_without_classes_the_scores_pick_them(toy):
    inferencer = toy['inferencer']
    path = toy['val'].get_data_info(0)['img_path']
    pred = inferencer(path, score_thr=0.5)[0]
    np.testing.assert_array_equal(pred.class_ids, np.flatnonzero(pred.scores > 0.5))
    everything = inferencer(path, score_thr=0.0)[0]
    np.testing.assert_array_equal(everything.class_ids, np.arange(len(TOY_CLASSES) - 1))
    # Predicted or named, a class gets the same map.
    named = inferencer(path, classes=list(TOY_CLASSES[1:]))[0]
    np.testing.assert_allclose(everything.cams, named.cams, atol=1e-6)
    nothing = inferencer(path, score_thr=1.0)[0]
    assert nothing.cams.shape == (0, 48, 48) and nothing.class_names == []
    # No class: the overlay is the image itself.
    np.testing.assert_array_equal(inferencer.visualize(nothing), nothing.image)


def test_arrays_and_files_give_the_same_maps(toy):
    path = toy['val'].get_data_info(1)['img_path']
    bgr = np.asarray(Image.open(path).convert('RGB'))[..., ::-1]
    a, b = toy['inferencer']([path, np.ascontiguousarray(bgr)], classes=['tiger'])
    np.testing.assert_array_equal(a.cams, b.cams)
    assert b.img_path is None


def test_overlay_colours_the_strongest_class(toy):
    inferencer = toy['inferencer']
    pred = inferencer(toy['val'].get_data_info(0)['img_path'], score_thr=0.0)[0]
    picture = inferencer.visualize(pred)
    assert picture.shape == pred.image.shape
    # Where a map is 1, the pixel moves towards that class's palette colour.
    k, y, x = np.unravel_index(np.argmax(pred.cams), pred.cams.shape)
    colour = np.asarray(TOY_PALETTE[pred.class_ids[k] + 1], dtype=float)
    before = np.abs(pred.image[y, x].astype(float) - colour).sum()
    after = np.abs(picture[y, x].astype(float) - colour).sum()
    assert after < before
    heat = inferencer.visualize(pred, mode='heatmap')
    assert heat.shape == (48, 48 * (len(pred.class_ids) + 1), 3)


def test_clear_errors_for_bad_input(toy, tmp_path):
    inferencer = toy['inferencer']
    path = toy['val'].get_data_info(0)['img_path']
    with pytest.raises(ValueError, match=r"unknown class name\(s\) \['zebra'\].*ladybird"):
        inferencer(path, classes=['tiger', 'zebra'])
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    with pytest.raises(OSError, match='broken.jpg'):
        inferencer(str(broken))
    with pytest.raises(FileNotFoundError, match='gone.jpg'):
        inferencer(str(tmp_path / 'gone.jpg'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no image files'):
        inferencer(str(empty))


def test_checkpoint_of_another_model_is_refused(toy, tmp_path):
    seven = small_cfg(toy['root'], **{'model.head.num_classes': 7})
    other = save_checkpoint(seven, str(tmp_path / 'seven.pth'))
    with pytest.raises(RuntimeError, match=r'another shape: head\.\S+ \(7, '):
        ImageCAMInferencer(toy['cfg'], other)
    deeper = small_cfg(toy['root'], **{'model.backbone.timm_kwargs.depth': 3})
    with pytest.raises(RuntimeError, match=r'missing from the checkpoint: backbone\.\S*blocks\.2'):
        ImageCAMInferencer(deeper, toy['ckpt'])
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'\x00' * 16)
    with pytest.raises(RuntimeError, match='junk.pth is not a readable checkpoint'):
        ImageCAMInferencer(toy['cfg'], str(junk))


def load_demo():
    spec = importlib.util.spec_from_file_location('cam_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_on_an_image_and_a_folder(toy, tmp_path, capsys):
    demo = load_demo()
    config = str(tmp_path / 'small.py')
    toy['cfg'].dump(config)
    image = toy['val'].get_data_info(0)['img_path']
    out, maps = tmp_path / 'vis.png', tmp_path / 'maps.npz'
    assert demo.main([image, config, toy['ckpt'], '--classes', 'tiger', 'leaf', '--out',
                      str(out), '--out-maps', str(maps), '--device', 'cpu']) == 0
    with Image.open(out) as picture:
        assert picture.size == (48, 48) and picture.mode == 'RGB'
    with np.load(maps) as data:
        assert list(data['class_names']) == ['tiger', 'leaf']
        np.testing.assert_array_equal(data['class_ids'], [1, 3])
        assert data['cams'].shape == (2, 48, 48)
    assert 'tiger' in capsys.readouterr().out

    assert demo.main([toy['folder'], config, toy['ckpt'], '--score-thr', '0.5', '--out',
                      str(tmp_path / 'vis'), '--out-maps', str(tmp_path / 'maps')]) == 0
    stems = sorted(osp.splitext(n)[0] for n in os.listdir(toy['folder']) if n.endswith('.jpg'))
    assert sorted(os.listdir(tmp_path / 'vis')) == [s + '.png' for s in stems]
    assert sorted(os.listdir(tmp_path / 'maps')) == [s + '.npz' for s in stems]
    with pytest.raises(SystemExit):
        demo.main([image, config, toy['ckpt'], '--classes', 'tiger', '--score-thr', '0.5',
                   '--out', str(out)])
