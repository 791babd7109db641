import glob
import os
import os.path as osp
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmseg.registry import HOOKS

from projects.acr.engine.hooks import AtomicCheckpointHook, AtomicLocalBackend
from projects.acr.utils import find_latest_complete_checkpoint, is_complete_checkpoint

ROOT = Path(__file__).resolve().parents[3]

TINY_CONFIG = """
_base_ = {base!r}
train_dataloader = dict(batch_size=4, dataset=dict(data_root={data_root!r}))
"""

# Runs a script with a maximum file size. Python ignores SIGXFSZ; with the kernel's default
# action restored, the first write past the limit kills the process on the spot, in the
# middle of writing the file, as a SIGKILL or a power cut would.
_KILLED_AT_FILE_SIZE = """
import resource, runpy, signal, sys
limit = int(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""
# Far above the logs and the config dump, far below a checkpoint of the tiny model (~11 MB).
_FILE_SIZE_LIMIT = 1 << 20


def test_default_runtime_uses_the_atomic_hook():
    cfg = Config.fromfile(str(ROOT / 'configs' / '_base_' / 'default_runtime.py'))
    hook_cfg = cfg.default_hooks.checkpoint
    assert hook_cfg.type == 'AtomicCheckpointHook'
    hook = HOOKS.build(hook_cfg)
    assert isinstance(hook, CheckpointHook) and hook.atomic
    assert hook.backend_args == dict(backend='atomic_local')
    # Reported figures come from the last checkpoint: no selection on the masks.
    assert hook.save_best is None and hook.max_keep_ckpts == 2


def test_explicit_backend_or_remote_dir_is_used_as_given():
    assert not AtomicCheckpointHook(interval=1, out_dir='s3://bucket/run').atomic
    hook = AtomicCheckpointHook(interval=1, backend_args=dict(backend='local'))
    assert not hook.atomic and hook.backend_args == dict(backend='local')


def test_backend_replaces_files_whole(tmp_path):
    backend = AtomicLocalBackend()
    target = str(tmp_path / 'sub' / 'epoch_1.pth')
    backend.put(b'first', target)
    backend.put(b'second version', target)
    backend.put_text('epoch_1.pth', str(tmp_path / 'last_checkpoint'))
    with open(target, 'rb') as f:
        assert f.read() == b'second version'
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'
    # A write that fails half-way leaves the previous file and no temporary behind.
    with pytest.raises(TypeError):
        backend.put(['not', 'bytes'], target)
    with open(target, 'rb') as f:
        assert f.read() == b'second version'
    assert sorted(os.listdir(tmp_path / 'sub')) == ['epoch_1.pth']


def _train(config: str, work_dir: str, *extra: str,
           file_size_limit: Optional[int] = None) -> subprocess.Popen:
    """Starts tools/train.py, killed by SIGXFSZ when a file reaches ``file_size_limit``."""
    env = dict(os.environ, OMP_NUM_THREADS='1', WANDB_MODE='disabled')
    env.pop('PYTHONPATH', None)
    cmd = ['tools/train.py', config, '--work-dir', work_dir, *extra]
    if file_size_limit is not None:
        cmd = ['-c', _KILLED_AT_FILE_SIZE, str(file_size_limit)] + cmd
    return subprocess.Popen([sys.executable] + cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_process_killed_while_writing_a_checkpoint(tmp_path, shared_toy_dataset):
    data_root = shared_toy_dataset(num_train=8, num_val=2, img_size=48, seed=0)
    config = str(tmp_path / 'tiny.py')
    Path(config).write_text(TINY_CONFIG.format(
        base=str(ROOT / 'tests' / 'data' / 'tiny_toy_train.py'), data_root=data_root))
    stock_dir, atomic_dir = str(tmp_path / 'stock'), str(tmp_path / 'atomic')

    runs = [
        _train(config, stock_dir, '--cfg-options', 'default_hooks.checkpoint.type=CheckpointHook',
               file_size_limit=_FILE_SIZE_LIMIT),
        _train(config, atomic_dir, file_size_limit=_FILE_SIZE_LIMIT),
    ]
    for run in runs:
        out, _ = run.communicate(timeout=300)
        assert run.returncode == -signal.SIGXFSZ, out[-5000:]
        assert 'Saving checkpoint at 1 epochs' in out

    # mmengine's own hook leaves a truncated checkpoint under the final name.
    stock = osp.join(stock_dir, 'epoch_1.pth')
    assert osp.getsize(stock) == _FILE_SIZE_LIMIT and not is_complete_checkpoint(stock)
    assert find_latest_complete_checkpoint(stock_dir) is None

    # The atomic hook leaves only its hidden temporary file, and no last_checkpoint.
    assert not osp.exists(osp.join(atomic_dir, 'epoch_1.pth'))
    assert not osp.exists(osp.join(atomic_dir, 'last_checkpoint'))
    partial = glob.glob(osp.join(atomic_dir, '.epoch_1.pth.*.tmp'))
    assert len(partial) == 1 and osp.getsize(partial[0]) == _FILE_SIZE_LIMIT
    assert find_latest_complete_checkpoint(atomic_dir) is None

    # Running again (no size limit) starts from scratch, clears the leftover and saves.
    rerun = _train(config, atomic_dir, '--resume')
    out, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, out[-5000:]
    assert f'Removed {osp.basename(partial[0])}' in out
    assert not glob.glob(osp.join(atomic_dir, '.*.tmp'))
    saved = osp.join(atomic_dir, 'epoch_1.pth')
    assert is_complete_checkpoint(saved)
    assert find_latest_complete_checkpoint(atomic_dir) == saved
