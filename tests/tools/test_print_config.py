"""tools/misc/print_config.py: the config a tool reads, its _base_ files and overrides merged."""
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'print_config.py')
CONFIG = 'configs/acr/vit-tiny_toy.py'


def test_prints_the_merged_config_with_the_overrides(tmp_path):
    proc = subprocess.run([sys.executable, TOOL, CONFIG, '--cfg-options',
                           'train_dataloader.batch_size=3', 'model.acr_loss.loss_weight=0.25'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    printed = tmp_path / 'printed.py'
    printed.write_text(proc.stdout)
    got = Config.fromfile(str(printed), import_custom_modules=False)
    want = Config.fromfile(osp.join(REPO, CONFIG), import_custom_modules=False)
    want.merge_from_dict({'train_dataloader.batch_size': 3, 'model.acr_loss.loss_weight': 0.25})
    assert got.train_dataloader.batch_size == 3
    assert got.model.acr_loss.loss_weight == 0.25
    assert got.to_dict() == want.to_dict()


def test_missing_config_is_named(tmp_path):
    proc = subprocess.run([sys.executable, TOOL, str(tmp_path / 'nope.py')], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and f'config file not found: {tmp_path / "nope.py"}' in proc.stderr
