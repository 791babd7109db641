"""A checkpoint hook whose checkpoints are never visible half-written.

How mmengine 0.10.7 writes a checkpoint: ``CheckpointHook._save_checkpoint_with_step``
calls ``Runner.save_checkpoint(out_dir, 'epoch_N.pth', backend_args=...)``, which gathers
the state and calls ``mmengine.runner.checkpoint.save_checkpoint``. That serialises the
whole checkpoint into memory (``torch.save`` into a ``BytesIO``) and hands the bytes to the
storage backend chosen by ``get_file_backend(filename, backend_args)``; for a local path
that is ``LocalBackend.put``, a plain ``open(path, 'wb').write(...)`` on the final name.
Only when ``put`` has returned does the hook rewrite ``<work_dir>/last_checkpoint``.

The bytes reach the disk in exactly one place, ``put``, and ``backend_args`` is the
documented way to choose the backend that does it. So :class:`AtomicCheckpointHook` is the
stock hook with ``backend_args=dict(backend='atomic_local')``: :class:`AtomicLocalBackend`
writes a hidden temporary file next to the target, fsyncs it and renames it onto the final
name. A kill at any moment leaves either no ``epoch_N.pth`` or a complete one, and since
``last_checkpoint`` is rewritten after ``put`` returns, it never names a partial file.
``last_checkpoint`` itself is still written in place by mmengine (a kill in that instant
leaves it empty); :func:`projects.acr.utils.find_latest_complete_checkpoint`, which
``tools/train.py --resume`` uses, validates what it names and falls back to the newest
complete checkpoint.
"""
import os
import os.path as osp
import re
from pathlib import Path
from typing import Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmseg.registry import HOOKS

from projects.acr.utils.atomic_io import atomic_write_bytes

ATOMIC_BACKEND = 'atomic_local'
# Temporary names made by projects.acr.utils.atomic_open for a checkpoint "<name>.pth".
_STALE_TEMPORARY = re.compile(r'^\..+\.pth\.[^.]+\.tmp$')


class AtomicLocalBackend(LocalBackend):
    """Local file storage whose writes replace the target in one rename.

    Reading, listing and removing are :class:`mmengine.fileio.LocalBackend`'s.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Writes ``obj`` to ``filepath`` through a fsynced temporary file and a rename."""
        atomic_write_bytes(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Writes the text ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(str(filepath), obj.encode(encoding))


# force: re-importing this module (e.g. under another name) must not fail.
register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that saves local checkpoints atomically.

    Takes every argument of ``CheckpointHook`` (``interval``, ``max_keep_ckpts``,
    ``save_best``, ``rule``, ...), all by keyword except ``interval``. Without
    ``backend_args`` / ``file_client_args`` and with a local (or default) ``out_dir``,
    checkpoints go through :class:`AtomicLocalBackend`; an explicit backend or a remote
    ``out_dir`` (``s3://...``) is used as given, without the atomic guarantee.

    Before training, temporary files that a killed run left next to the checkpoints
    (``.epoch_3.pth.<random>.tmp``) are deleted.

    Args:
        interval (int): Saving period in epochs (or iterations with ``by_epoch=False``).
        out_dir (str, optional): Where checkpoints go; the work dir by default.
        file_client_args (dict, optional): Deprecated mmengine file client arguments.
        backend_args (dict, optional): Storage backend arguments; None selects the atomic
            local backend.
        **kwargs: Other arguments of ``CheckpointHook``.
    """

    def __init__(self,
                 interval: int = -1,
                 *,
                 out_dir: Optional[Union[str, Path]] = None,
                 file_client_args: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        local = out_dir is None or '://' not in str(out_dir)
        self.atomic = backend_args is None and file_client_args is None and local
        if self.atomic:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(
            interval=interval,
            out_dir=out_dir,
            file_client_args=file_client_args,
            backend_args=backend_args,
            **kwargs)

    def before_train(self, runner) -> None:
        """Resolves the output dir (mmengine) and removes stale temporary checkpoints."""
        super().before_train(runner)
        if not (self.atomic and is_main_process() and osp.isdir(self.out_dir)):
            return
        for name in sorted(os.listdir(self.out_dir)):
            if _STALE_TEMPORARY.match(name):
                os.remove(osp.join(self.out_dir, name))
                runner.logger.info(f'Removed {name}, a checkpoint an interrupted run left '
                                   f'unfinished in {self.out_dir}')
