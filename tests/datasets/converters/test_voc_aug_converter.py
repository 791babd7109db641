import importlib.util
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import scipy.io
from PIL import Image

from projects.acr.datasets import VOCClsDataset
from projects.acr.datasets.converters import (ArchiveError, ChecksumError, VOCAugConverter,
                                              file_md5, make_train_aug)

_spec = importlib.util.spec_from_file_location(
    'made_archives', osp.join(osp.dirname(__file__), 'made_archives.py'))
made_archives = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(made_archives)


@pytest.fixture(scope='module')
def archives(tmp_path_factory):
    return made_archives.make_voc_sbd_archives(str(tmp_path_factory.mktemp('voc_sbd')))


def convert(voc, sbd, out, **kwargs):
    kwargs.setdefault('progress', False)
    return VOCAugConverter(voc, sbd, str(out), **kwargs).run()


def convert_archives(archives, out, **kwargs):
    return convert(archives['voc_tar'], archives['sbd_tgz'], out,
                   voc_md5=file_md5(archives['voc_tar'], progress=False),
                   sbd_md5=file_md5(archives['sbd_tgz'], progress=False), **kwargs)


def read_list(out, name):
    with open(osp.join(out, 'ImageSets', 'Segmentation', name + '.txt')) as f:
        return f.read().split('\n')


def read_masks(out):
    mask_dir = osp.join(out, 'SegmentationClassAug')
    masks = {}
    for name in sorted(os.listdir(mask_dir)):
        assert name.endswith('.png') and not name.startswith('.'), name
        with Image.open(osp.join(mask_dir, name)) as img:
            assert img.mode == 'P'
            masks[name[:-4]] = np.asarray(img)
    return masks


def assert_expected_tree(archives, out, images_copied=True):
    masks = read_masks(out)
    expected = archives['expected']
    assert sorted(masks) == sorted(expected)  # the union of VOC's and SBD's ids: 7
    for img_id, mask in masks.items():
        np.testing.assert_array_equal(mask, expected[img_id], err_msg=img_id)
    # Lists: exact content and order, one id per line with a final newline.
    assert read_list(out, 'train_aug') == made_archives.TRAIN_AUG + ['']
    assert read_list(out, 'train') == made_archives.VOC_TRAIN + ['']
    assert read_list(out, 'val') == made_archives.VOC_VAL + ['']
    if images_copied:
        src = osp.join(archives['voc'], 'JPEGImages')
        names = sorted(os.listdir(osp.join(out, 'JPEGImages')))
        assert names == sorted(os.listdir(src))
        for name in names:
            with open(osp.join(src, name), 'rb') as a, \
                    open(osp.join(out, 'JPEGImages', name), 'rb') as b:
                assert a.read() == b.read(), name


def test_train_aug_rule():
    assert make_train_aug(['a', 'b'], ['c', 'd'], ['a', 'e', 'c'], ['d', 'f']) == ['a', 'b',
                                                                                   'e', 'f']


def test_sbd_fixture_has_sbd_struct_layout(archives):
    # Read the way mmsegmentation's converter reads SBD: default loadmat, GTcls[0][...][0].
    path = osp.join(archives['sbd'], 'dataset', 'cls', '2008_000010.mat')
    data = scipy.io.loadmat(path)
    seg = data['GTcls'][0]['Segmentation'][0]
    np.testing.assert_array_equal(seg, archives['sbd_masks']['2008_000010'])
    assert data['GTcls'][0]['Boundaries'][0].shape == (20, 1)


def test_converts_official_archives(archives, tmp_path):
    out = tmp_path / 'VOC2012'
    summary = convert_archives(archives, out)
    assert_expected_tree(archives, str(out))
    # 4 VOC masks; SBD's 5 minus the 2 ids VOC annotates itself.
    assert (summary.voc_masks_written, summary.sbd_masks_written,
            summary.sbd_masks_superseded) == (4, 3, 2)
    assert summary.images_written == 8
    assert summary.masks_total == 7
    assert summary.lists == dict(train_aug=5, train=2, val=2)
    text = '\n'.join(summary.lines())
    assert 'the official archives give 10,582' in text
    # Where both have a mask, VOC's wins (its 255 band is there, SBD's classes are not).
    mask = read_masks(str(out))['2007_000001']
    assert 255 in mask and 10 not in mask


def test_extracted_folders_into_the_voc_folder_itself(archives, tmp_path):
    base = tmp_path / 'copy'
    shutil.copytree(osp.dirname(archives['voc']), base / 'VOCdevkit')
    voc_root = base / 'VOCdevkit' / 'VOC2012'
    before = sorted(os.listdir(voc_root / 'JPEGImages'))
    # The VOCdevkit folder above VOC2012 and benchmark_RELEASE's parent are found too.
    summary = convert(str(base / 'VOCdevkit'), osp.dirname(archives['sbd']), voc_root)
    assert summary.images_written == 0 and summary.images_skipped == 8
    assert sorted(os.listdir(voc_root / 'JPEGImages')) == before
    assert_expected_tree(archives, str(voc_root), images_copied=False)
    # VOC's own masks and lists are untouched.
    assert len(os.listdir(voc_root / 'SegmentationClass')) == 4
    assert read_list(str(voc_root), 'trainval') == made_archives.VOC_TRAIN + \
        made_archives.VOC_VAL + ['']


def test_folders_with_worker_processes_match_the_archives(archives, tmp_path):
    out = tmp_path / 'root'
    summary = convert(archives['voc'], archives['sbd'], out, workers=2)
    assert_expected_tree(archives, str(out))
    assert (summary.voc_masks_written, summary.sbd_masks_written) == (4, 3)


def test_rerun_skips_what_is_done(archives, tmp_path):
    out = tmp_path / 'root'
    convert_archives(archives, out)
    mask = out / 'SegmentationClassAug' / '2008_000010.png'
    stamp = os.stat(mask).st_mtime_ns
    os.remove(out / 'SegmentationClassAug' / '2008_000011.png')
    os.remove(out / 'JPEGImages' / '2007_000002.jpg')
    summary = convert_archives(archives, out)
    assert (summary.voc_masks_written, summary.voc_masks_skipped) == (0, 4)
    assert (summary.sbd_masks_written, summary.sbd_masks_skipped) == (1, 2)
    assert (summary.images_written, summary.images_skipped) == (1, 7)
    assert os.stat(mask).st_mtime_ns == stamp
    assert_expected_tree(archives, str(out))


def test_interrupted_run_leaves_no_partial_png(archives, tmp_path, monkeypatch):
    out = tmp_path / 'root'
    real_save = Image.Image.save
    calls = []

    def save_then_die(self, fp, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the third mask: half its bytes, then the run is killed
            fp.write(b'\x89PNG\r\n\x1a\n')
            raise KeyboardInterrupt
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, 'save', save_then_die)
    with pytest.raises(KeyboardInterrupt):
        convert_archives(archives, out)
    monkeypatch.setattr(Image.Image, 'save', real_save)
    mask_dir = out / 'SegmentationClassAug'
    left = os.listdir(mask_dir)
    assert len(left) == 2 and all(n.endswith('.png') for n in left)  # no temporary files
    for name in left:
        np.testing.assert_array_equal(read_masks(str(out))[name[:-4]],
                                      archives['expected'][name[:-4]])
    assert not osp.exists(out / 'ImageSets' / 'Segmentation' / 'train_aug.txt')
    summary = convert_archives(archives, out)
    assert summary.voc_masks_skipped == 2 and summary.voc_masks_written == 2
    assert_expected_tree(archives, str(out))


def test_wrong_checksum_names_the_file(archives, tmp_path):
    with pytest.raises(ChecksumError, match='VOCtrainval_11-May-2012.tar: MD5 .* is not the '
                       'published 6cd6e144f989b92b3379bac3b3de84fd'):
        convert(archives['voc_tar'], archives['sbd_tgz'], tmp_path / 'a')
    with pytest.raises(ChecksumError, match=r'benchmark\.tgz: MD5 .*82b4d87ceb2ed10f6038a1c'):
        convert(archives['voc_tar'], archives['sbd_tgz'], tmp_path / 'b',
                voc_md5=file_md5(archives['voc_tar'], progress=False))
    assert not osp.exists(tmp_path / 'a' / 'SegmentationClassAug')


def test_corrupt_archive_names_the_file(archives, tmp_path):
    truncated = tmp_path / 'benchmark.tgz'
    with open(archives['sbd_tgz'], 'rb') as f:
        data = f.read()
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(ArchiveError, match=f'cannot read the archive {truncated}'):
        convert(archives['voc_tar'], str(truncated), tmp_path / 'out', check_md5=False)
    not_a_tar = tmp_path / 'VOCtrainval_11-May-2012.tar'
    not_a_tar.write_bytes(b'this is not a tar archive' * 40)
    with pytest.raises(ArchiveError, match=str(not_a_tar)):
        convert(str(not_a_tar), archives['sbd_tgz'], tmp_path / 'out2', check_md5=False)


def test_foreign_mask_folder_is_refused_unless_forced(archives, tmp_path):
    out = tmp_path / 'root'
    os.makedirs(out / 'SegmentationClassAug')
    # e.g. mmsegmentation's converter: SBD's mask also for an id VOC annotates.
    made_archives.save_palette_png(str(out / 'SegmentationClassAug' / '2007_000001.png'),
                                   archives['sbd_masks']['2007_000001'])
    with pytest.raises(FileExistsError, match='did not write'):
        convert(archives['voc'], archives['sbd'], out)
    convert(archives['voc'], archives['sbd'], out, force=True)
    assert_expected_tree(archives, str(out))


def test_bad_masks_are_named(archives, tmp_path):
    base = tmp_path / 'bad'
    shutil.copytree(archives['voc'], base / 'VOC2012')
    shutil.copytree(archives['sbd'], base / 'benchmark_RELEASE')
    rgb = base / 'VOC2012' / 'SegmentationClass' / '2007_000002.png'
    Image.fromarray(made_archives.image(0)).save(rgb)
    with pytest.raises(ValueError, match=f'{rgb}: PIL mode .RGB.*indices are the class ids'):
        convert(str(base / 'VOC2012'), str(base / 'benchmark_RELEASE'), tmp_path / 'o1')
    made_archives.save_palette_png(str(rgb), archives['voc_masks']['2007_000002'])
    mat = base / 'benchmark_RELEASE' / 'dataset' / 'cls' / '2008_000011.mat'
    made_archives.save_sbd_mat(str(mat), np.full((3, 3), 30, np.uint8))
    with pytest.raises(ValueError, match=f'{mat}: mask holds values \\[30\\]'):
        convert(str(base / 'VOC2012'), str(base / 'benchmark_RELEASE'), tmp_path / 'o2')
    scipy.io.savemat(str(mat), {'Segmentation': np.zeros((2, 2), np.uint8)})
    with pytest.raises(ValueError, match=f'{mat}: no GTcls struct'):
        convert(str(base / 'VOC2012'), str(base / 'benchmark_RELEASE'), tmp_path / 'o3')


def test_missing_inputs_are_named(archives, tmp_path):
    with pytest.raises(FileNotFoundError, match='no ImageSets/Segmentation/ folder'):
        convert(str(tmp_path), archives['sbd'], tmp_path / 'o')
    base = tmp_path / 'nolist'
    shutil.copytree(archives['sbd'], base / 'benchmark_RELEASE')
    os.remove(base / 'benchmark_RELEASE' / 'dataset' / 'val.txt')
    with pytest.raises(FileNotFoundError, match=r'SBD .*: list file\(s\) val.txt not found'):
        convert(archives['voc'], str(base / 'benchmark_RELEASE'), tmp_path / 'o')


def test_dataset_reads_the_tree_under_either_list_name(archives, tmp_path):
    out = tmp_path / 'root'
    convert_archives(archives, out)
    ds = VOCClsDataset(str(out), label_cache=False)
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == made_archives.TRAIN_AUG
    labels = ds.get_data_info(2)['img_labels']  # 2008_000010: SBD's classes 10 + 2, 15
    assert np.flatnonzero(labels).tolist() == [10, 14]
    # mmsegmentation names the list trainaug.txt; the dataset takes it in place of train_aug.
    lists = out / 'ImageSets' / 'Segmentation'
    os.rename(lists / 'train_aug.txt', lists / 'trainaug.txt')
    ds = VOCClsDataset(str(out), label_cache=False)
    assert len(ds) == 5 and ds.ann_file.endswith('trainaug.txt')
