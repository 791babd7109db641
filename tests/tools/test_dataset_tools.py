"""The dataset tools end to end: converters on made archives, then the check."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from projects.acr.datasets.converters import file_md5

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


made_archives = load('tests/datasets/converters/made_archives.py', 'made_archives')
voc_tool = load('tools/dataset_converters/voc_aug.py', 'voc_aug_tool')
coco_tool = load('tools/dataset_converters/coco_wsss.py', 'coco_wsss_tool')
check_tool = load('tools/analysis_tools/check_dataset.py', 'check_dataset_tool')


@pytest.fixture(scope='module')
def archives(tmp_path_factory):
    return made_archives.make_voc_sbd_archives(str(tmp_path_factory.mktemp('tool_voc')))


@pytest.mark.parametrize('tool', [voc_tool, coco_tool, check_tool])
def test_help_has_examples(tool, capsys):
    with pytest.raises(SystemExit) as e:
        tool.main(['--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert 'examples:' in out and 'python tools/' in out


def test_voc_tool_then_check(archives, tmp_path, capsys):
    out = str(tmp_path / 'VOCdevkit' / 'VOC2012')
    args = [archives['voc_tar'], archives['sbd_tgz'], '--out', out, '--workers', '2',
            '--voc-md5', file_md5(archives['voc_tar'], progress=False),
            '--sbd-md5', file_md5(archives['sbd_tgz'], progress=False), '--no-progress']
    summary = voc_tool.main(args)
    assert summary['lists'] == dict(train_aug=5, train=2, val=2)
    printed = capsys.readouterr().out
    assert 'SegmentationClassAug: 7 masks (the official archives give 12,031)' in printed
    summary = voc_tool.main(args)
    assert (summary['voc_masks_written'], summary['voc_masks_skipped']) == (0, 4)
    assert (summary['sbd_masks_written'], summary['sbd_masks_skipped']) == (0, 3)

    config = osp.join(ROOT, 'configs', 'acr', 'vit_voc.py')
    root = ['--cfg-options', f'train_dataloader.dataset.data_root={out}',
            f'val_dataloader.dataset.data_root={out}', f'test_dataloader.dataset.data_root={out}']
    capsys.readouterr()
    # The made tree is not the real dataset: its counts fail the check...
    assert check_tool.main([config, '--no-progress', '--workers', '1'] + root) == 1
    printed = capsys.readouterr().out
    assert 'ids in train_aug.txt: 5, canonical 10,582' in printed
    # ...while every file is fine.
    assert check_tool.main([config, '--split', 'train_aug', 'train', 'val', '--ignore-counts',
                            '--no-progress'] + root) == 0
    printed = capsys.readouterr().out
    assert '3 of 3 datasets passed' in printed and 'aeroplane' in printed
    # A mask of the wrong size is named.
    bad = osp.join(out, 'SegmentationClassAug', '2008_000010.png')
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(bad)
    assert check_tool.main([config, '--split', 'train_aug', '--ignore-counts',
                            '--no-progress'] + root) == 1
    printed = capsys.readouterr().out
    assert f'size mismatches: {bad}: mask 3x3, image 6x8' in printed


def test_coco_tool(tmp_path, capsys):
    made = made_archives.make_coco_annotations(str(tmp_path / 'ann'))
    out = str(tmp_path / 'coco')
    summary = coco_tool.main([made['zip'], '--out', out, '--overlap', 'larger-on-top',
                              '--workers', '1', '--no-progress'])
    assert summary['lists'] == dict(train=2, val=2, val_5000=2)
    assert summary['splits']['val']['crowd_only'] == 1
    printed = capsys.readouterr().out
    assert 'overlap rule larger-on-top' in printed and 'WSSS papers list 40,137' in printed
    stem = made['train']['stems'][1]
    mask = np.asarray(Image.open(osp.join(out, 'SegmentationClass', 'train2014',
                                          stem + '.png')))
    parts = made['train']['parts']
    assert (mask[(parts['person'] > 0) & (parts['brush'] > 0)] == 1).all()  # larger on top


@pytest.mark.slow
def test_cli_error_names_the_file(archives, tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'dataset_converters', 'voc_aug.py'),
         archives['voc_tar'], archives['sbd_tgz'], '--out', str(tmp_path / 'o'),
         '--no-progress'],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 1
    assert f'error: {archives["voc_tar"]}: MD5' in proc.stderr
    assert 'Traceback' not in proc.stderr
