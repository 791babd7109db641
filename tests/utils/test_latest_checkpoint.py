import logging
import os
import os.path as osp
import shutil
from logging.handlers import BufferingHandler

import pytest
import torch
from mmengine.logging import MMLogger

from projects.acr.utils import find_latest_complete_checkpoint, is_complete_checkpoint


def _save(path, step: int) -> str:
    """A real torch checkpoint, big enough that cutting it leaves a plausible prefix."""
    torch.save({'meta': {'epoch': step}, 'state_dict': {'w': torch.full((64, 64), step)}},
               str(path))
    return str(path)


def _truncate(path: str, fraction: float = 0.5) -> None:
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])


def _write_last(work_dir, text: str) -> None:
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(text)


def test_complete_truncated_and_corrupt_checkpoints(tmp_path):
    good = _save(tmp_path / 'good.pth', 1)
    assert is_complete_checkpoint(good)

    for fraction in (0.0, 0.3, 0.99):
        cut = _save(tmp_path / f'cut_{fraction}.pth', 1)
        _truncate(cut, fraction)
        assert not is_complete_checkpoint(cut)

    # Same length, one byte of tensor data flipped: only the CRC-32 can tell.
    corrupt = str(tmp_path / 'corrupt.pth')
    shutil.copyfile(good, corrupt)
    with open(corrupt, 'r+b') as f:
        data = f.read()
        offset = data.index(torch.full((64, 64), 1).numpy().tobytes()[:64]) + 100
        f.seek(offset)
        f.write(bytes([data[offset] ^ 0xFF]))
    assert osp.getsize(corrupt) == osp.getsize(good)
    assert not is_complete_checkpoint(corrupt)

    assert not is_complete_checkpoint(str(tmp_path / 'missing.pth'))
    assert not is_complete_checkpoint(str(tmp_path))
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    assert not is_complete_checkpoint(str(tmp_path / 'text.pth'))


def test_checkpoints_saved_without_crc_are_complete(tmp_path):
    torch.serialization.set_crc32_options(False)
    try:
        path = _save(tmp_path / 'no_crc.pth', 3)
    finally:
        torch.serialization.set_crc32_options(True)
    assert is_complete_checkpoint(path)
    _truncate(path)
    assert not is_complete_checkpoint(path)


def test_valid_last_checkpoint_is_used(tmp_path):
    _save(tmp_path / 'epoch_1.pth', 1)
    second = _save(tmp_path / 'epoch_2.pth', 2)
    _write_last(tmp_path, second + '\n')
    assert find_latest_complete_checkpoint(str(tmp_path)) == second
    # mmengine writes absolute paths; a relative one is taken relative to the work dir.
    _write_last(tmp_path, 'epoch_1.pth')
    assert find_latest_complete_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')


@pytest.mark.parametrize('problem', ['truncated', 'missing', 'empty', 'no_record'])
def test_bad_last_checkpoint_falls_back_to_newest_complete(tmp_path, problem):
    for step in (1, 2, 9, 10):  # 10 must beat 9 numerically, not as text
        _save(tmp_path / f'epoch_{step}.pth', step)
    _save(tmp_path / 'best_cam_mIoU_epoch_11.pth', 11)  # no optimizer state: never resumed
    newest = str(tmp_path / 'epoch_11.pth')
    _save(newest, 11)
    if problem == 'truncated':
        _truncate(newest)
        _write_last(tmp_path, newest)
    elif problem == 'missing':
        os.remove(newest)
        _write_last(tmp_path, newest)
    elif problem == 'empty':
        _truncate(newest)
        _write_last(tmp_path, '')
    else:
        _truncate(newest)

    logger = MMLogger.get_current_instance()
    records = BufferingHandler(capacity=100)
    logger.addHandler(records)
    try:
        assert find_latest_complete_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')
    finally:
        logger.removeHandler(records)
    warnings = [r.getMessage() for r in records.buffer if r.levelno == logging.WARNING]
    about_record = [w for w in warnings if w.startswith(osp.join(tmp_path, 'last_checkpoint'))]
    assert len(about_record) == (problem != 'no_record')
    if problem in ('empty', 'no_record'):  # found truncated while scanning
        assert any('skipping' in w and 'epoch_11.pth' in w for w in warnings)


def test_truncated_candidates_are_skipped_and_none_when_nothing_is_complete(tmp_path):
    assert find_latest_complete_checkpoint(str(tmp_path / 'absent')) is None
    for step in (1, 2):
        _truncate(_save(tmp_path / f'iter_{step}.pth', step))
    _write_last(tmp_path, str(tmp_path / 'iter_2.pth'))
    assert find_latest_complete_checkpoint(str(tmp_path)) is None
    first = _save(tmp_path / 'iter_1.pth', 1)
    assert find_latest_complete_checkpoint(str(tmp_path)) == first


def test_epoch_and_iter_checkpoints_are_ordered_by_time(tmp_path):
    older = _save(tmp_path / 'epoch_5.pth', 5)
    newer = _save(tmp_path / 'iter_3.pth', 3)
    os.utime(older, (1_000_000, 1_000_000))
    os.utime(newer, (2_000_000, 2_000_000))
    assert find_latest_complete_checkpoint(str(tmp_path)) == newer
