"""Writing files so that readers see either nothing or the complete file.

An interrupted run (Ctrl-C, SIGKILL, preemption) may leave a hidden temporary file behind,
never a truncated output under the final name; the next run simply overwrites it.
"""
import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator[IO]:
    """Opens a temporary file next to ``path`` and moves it onto ``path`` on success.

    Args:
        path (str): Final file name. Parent directories are created.
        mode (str): ``'wb'`` or ``'w'``.

    Yields:
        The open temporary file. On an exception it is removed and ``path`` is untouched.
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f'atomic_open supports modes "wb" and "w", not "{mode}"')
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp',
                               dir=dirname)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates files readable by the owner only; give the final file the
        # permissions of an ordinary one.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save_npz(path: str, compressed: bool = True, **arrays: np.ndarray) -> None:
    """Saves arrays to ``path`` (an ``.npz``) atomically."""
    with atomic_open(path, 'wb') as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (e.g. an encoded PNG from ``cv2.imencode``)."""
    with atomic_open(path, 'wb') as f:
        f.write(data)
