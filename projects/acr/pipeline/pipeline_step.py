"""One step of a multi-stage job: a command and the outputs that show it has finished.

Steps run the toolkit's command-line tools (``tools/*.py``) in subprocesses. The tools are
scripts next to the package in a checkout, not part of an installed package, so their
folder is looked up (:func:`find_tools_dir`) rather than derived from this file alone.
"""
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence


@dataclass
class PipelineStep:
    """A command whose completion is judged by its outputs, not by a log.

    Every output of the tools this toolkit runs is written atomically, so an output file
    that exists is complete; a step whose outputs all exist is skipped.

    Args:
        name (str): Short name (``stage1_train``, ``cams``, ...).
        description (str): What the step does, for logs and the report.
        command (list[str]): The command line (run with the repository as working dir).
        outputs (Callable[[], list[str]]): Paths that must exist when the step is done;
            a callable because some lists (one file per image) are only known once the
            data exists.
        extra_files (list[str]): Other files the step leaves behind (settings, logs);
            removed with the outputs when the step is forced.
    """

    name: str
    description: str
    command: List[str]
    outputs: Callable[[], List[str]]
    extra_files: List[str] = field(default_factory=list)
    status: str = field(default='pending')  # pending | skipped | done | failed
    seconds: float = 0.0

    def missing_outputs(self, limit: int = 3) -> List[str]:
        """Up to ``limit`` outputs that do not exist yet."""
        missing = []
        for path in self.outputs():
            if not osp.exists(path):
                missing.append(path)
                if len(missing) >= limit:
                    break
        return missing

    def is_complete(self) -> bool:
        """Whether every output exists (a step without outputs never is)."""
        outputs = self.outputs()
        return bool(outputs) and all(osp.exists(p) for p in outputs)

    def remove_outputs(self) -> int:
        """Deletes the outputs that exist; returns how many there were."""
        removed = 0
        for path in [*self.outputs(), *self.extra_files]:
            if osp.isfile(path):
                os.remove(path)
                removed += 1
        return removed

    def run(self, cwd: str, env: Optional[dict] = None, log: Callable[[str], None] = print) -> None:
        """Runs the command; raises ``RuntimeError`` naming the step when it fails."""
        log(f'[{self.name}] {self.description}\n  $ {" ".join(self.command)}')
        start = time.time()
        result = subprocess.run(self.command, cwd=cwd, env=env)
        self.seconds = time.time() - start
        if result.returncode != 0:
            self.status = 'failed'
            raise RuntimeError(f'step {self.name!r} failed with exit status {result.returncode} '
                               f'after {self.seconds:.0f} s: {" ".join(self.command)}')
        missing = self.missing_outputs()
        if missing:
            self.status = 'failed'
            raise RuntimeError(f'step {self.name!r} finished but did not write '
                               f'{", ".join(missing)}')
        self.status = 'done'


TOOLS_DIR_ENV = 'ACR_TOOLS_DIR'
# Tools the pipeline runs; a folder holding them is the tools folder.
_MARKER_TOOLS = ('train.py', 'infer_cam.py', 'make_pseudo_labels.py')


def _is_tools_dir(path: Optional[str]) -> bool:
    return bool(path) and all(osp.isfile(osp.join(path, t)) for t in _MARKER_TOOLS)


def find_tools_dir() -> str:
    """The folder of the command-line tools, absolute.

    Looked for, in order: ``$ACR_TOOLS_DIR``; ``tools/`` next to the ``projects``
    package (a checkout, or an editable install); ``tools/`` in the working directory.
    A non-editable install has no tools next to the package: run from the checkout or set
    ``ACR_TOOLS_DIR``.

    Raises:
        FileNotFoundError: No candidate holds the tools; the message lists the places
            tried.
    """
    package_root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    env = os.environ.get(TOOLS_DIR_ENV)
    if env:  # set on purpose: a wrong value is an error, not a reason to look elsewhere
        if not _is_tools_dir(env):
            raise FileNotFoundError(f'{TOOLS_DIR_ENV}={env} does not hold the tools '
                                    f'({", ".join(_MARKER_TOOLS)})')
        return osp.abspath(env)
    candidates = [osp.join(package_root, 'tools'), osp.join(os.getcwd(), 'tools')]
    for path in candidates:
        if _is_tools_dir(path):
            return osp.abspath(path)
    tried = ', '.join(candidates)
    raise FileNotFoundError(f'the tools folder ({", ".join(_MARKER_TOOLS)}) was not found in '
                            f'{tried}; run from a checkout of the repository or set '
                            f'{TOOLS_DIR_ENV}')


def project_root() -> str:
    """The folder above the tools: the working directory of the steps.

    Configs name data relative to it (``data/VOCdevkit/...``), as when a user runs the
    tools from the checkout.
    """
    return osp.dirname(find_tools_dir())


def python_command(script: str, *args: str) -> List[str]:
    """A tool invocation with the running interpreter (the project's virtual environment).

    Args:
        script (str): ``tools/<name>.py`` (resolved with :func:`find_tools_dir`) or
            any other script path.
        *args (str): Its arguments.
    """
    if script.startswith('tools/'):
        script = osp.join(find_tools_dir(), script[len('tools/'):])
    return [sys.executable, script, *args]


def per_image_outputs(list_file: str, directory: str, suffix: str) -> Callable[[], List[str]]:
    """Outputs ``<directory>/<id><suffix>`` for every id of an image list."""

    def outputs() -> List[str]:
        if not osp.isfile(list_file):
            return [list_file]
        with open(list_file, encoding='utf-8') as f:
            ids = [line.strip() for line in f if line.strip()]
        return [osp.join(directory, i + suffix) for i in ids] or [list_file]

    return outputs


def fixed_outputs(paths: Sequence[str]) -> Callable[[], List[str]]:
    """Outputs known in advance."""
    return lambda: list(paths)
