"""Finding the checkpoint to resume from: the newest one that was written completely.

mmengine's auto-resume trusts ``<work_dir>/last_checkpoint`` blindly. That file may be
missing, empty (a kill while it was being rewritten), point at a checkpoint that was
deleted, moved with the work dir, or only partly written (a crash of the machine before the
data reached the disk). :func:`find_latest_complete_checkpoint` checks the file it names
and otherwise falls back to the newest complete ``epoch_N.pth`` / ``iter_N.pth`` in the work
dir.

A checkpoint counts as complete when it is a whole ``torch.save`` zip archive: the zip's
central directory sits at the very end of the file, so any truncation is detected, and
every record whose CRC-32 torch recorded (the default) is read back and verified. Legacy
non-zip checkpoints (``_use_new_zipfile_serialization=False``) are treated as unreadable.
"""
import logging
import os
import os.path as osp
import re
import zipfile
import zlib
from typing import List, Optional

from mmengine.logging import print_log

LAST_CHECKPOINT_FILE = 'last_checkpoint'
# What CheckpointHook writes with its default filename_tmpl; best_*.pth lack the optimizer
# state and are not resume points.
RESUMABLE_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
_CHUNK = 1 << 22


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a completely written ``torch.save`` checkpoint.

    Args:
        path (str): Checkpoint file.

    Returns:
        bool: True when the zip archive is intact, holds a ``data.pkl`` record and every
        record with a stored CRC-32 matches it. Reads the whole file once.
    """
    if not osp.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if not any(osp.basename(i.filename) == 'data.pkl' for i in infos):
                return False
            for info in infos:
                # torch.serialization.set_crc32_options(False) stores 0 for every record.
                if info.CRC == 0 or info.file_size == 0:
                    continue
                crc = 0
                size = 0
                with archive.open(info) as record:
                    # zipfile would verify the CRC itself at EOF, raising BadZipFile;
                    # checking here keeps the cause explicit.
                    while True:
                        chunk = record.read(_CHUNK)
                        if not chunk:
                            break
                        crc = zlib.crc32(chunk, crc)
                        size += len(chunk)
                if size != info.file_size or crc != info.CRC:
                    return False
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
    return True


def _resumable_checkpoints(work_dir: str) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` in ``work_dir``, newest first.

    Within one kind the step number orders them. When both kinds are present (a run whose
    checkpoint interval switched between epochs and iterations) steps are not comparable
    and the modification time decides.
    """
    if not osp.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = RESUMABLE_NAME.match(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path):
            found.append((match.group(1), int(match.group(2)), osp.getmtime(path), path))
    if len({kind for kind, *_ in found}) > 1:
        found.sort(key=lambda c: (c[2], c[1]), reverse=True)
    else:
        found.sort(key=lambda c: c[1], reverse=True)
    return [c[3] for c in found]


def find_latest_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint that ``--resume`` without a path should resume from.

    ``<work_dir>/last_checkpoint`` is used when it names a complete checkpoint (relative
    names are taken relative to ``work_dir``). Otherwise the newest complete
    ``epoch_N.pth`` / ``iter_N.pth`` directly in ``work_dir`` is used, with a warning when
    ``last_checkpoint`` existed but could not be used.

    Args:
        work_dir (str): The training work dir.

    Returns:
        str or None: Path of the checkpoint, or None when there is no complete one
        (training then starts from scratch).
    """
    record = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    named = None
    if osp.isfile(record):
        with open(record, encoding='utf-8', errors='replace') as f:
            named = f.read().strip() or None
        if named is not None and not osp.isabs(named):
            named = osp.join(work_dir, named)
        if named is not None and is_complete_checkpoint(named):
            print_log(f'latest complete checkpoint: {named}', logger='current')
            return named
        problem = ('is empty' if named is None else
                   f'names {named}, which does not exist' if not osp.exists(named) else
                   f'names {named}, which is truncated or corrupt')
        print_log(f'{record} {problem}; looking for the newest complete checkpoint in '
                  f'{work_dir} instead', logger='current', level=logging.WARNING)
    for path in _resumable_checkpoints(work_dir):
        if named is not None and osp.abspath(path) == osp.abspath(named):
            continue
        if is_complete_checkpoint(path):
            print_log(f'latest complete checkpoint: {path}', logger='current')
            return path
        print_log(f'skipping {path}: truncated or corrupt', logger='current',
                  level=logging.WARNING)
    print_log(f'no complete checkpoint to resume from in {work_dir}; training starts from '
              'scratch', logger='current', level=logging.WARNING)
    return None
