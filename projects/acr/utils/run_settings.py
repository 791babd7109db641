"""A record of the settings that filled an output directory, checked on resume."""
import json
import os.path as osp
from typing import Any, Dict

from .atomic_io import atomic_open


def check_recorded_settings(out_dir: str, settings: Dict[str, Any], settings_file: str,
                            made: str, write: bool = True) -> None:
    """Refuses to resume into ``out_dir`` with settings other than those recorded there.

    A resumed run with other settings would silently mix two kinds of outputs in one
    directory.

    Args:
        out_dir (str): The output directory.
        settings (dict): JSON-serialisable settings of this run.
        settings_file (str): Name of the record inside ``out_dir``.
        made (str): What the directory holds and how it was made, for the error
            (e.g. ``'class maps made'``).
        write (bool): Record ``settings`` when no record exists (only one process should).

    Raises:
        ValueError: The directory was filled with other settings.
    """
    path = osp.join(out_dir, settings_file)
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as they are stored
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        diff = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
        if diff:
            details = '; '.join(f'{k}: {a!r} there, {b!r} now' for k, (a, b) in diff.items())
            raise ValueError(f'{out_dir} holds {made} with other settings ({details}). '
                             f'Use another output directory, or delete {path} to mix them.')
    elif write:
        with atomic_open(path, 'w') as f:
            json.dump(settings, f, indent=2)
