"""One step of a multi-stage job: a command and the outputs that show it has finished.

Steps run the toolkit's command-line tools (``tools/*.py``) in subprocesses, started and
found by :mod:`projects.acr.utils.tool_runner` like every other tool the toolkit runs.
"""
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

from ..utils import tool_runner
from ..utils.tool_runner import TOOLS_DIR_ENV, run_process


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
        returncode, _ = run_process(self.command, cwd=cwd, env=env)
        self.seconds = time.time() - start
        if returncode != 0:
            self.status = 'failed'
            raise RuntimeError(f'step {self.name!r} failed with exit status {returncode} '
                               f'after {self.seconds:.0f} s: {" ".join(self.command)}')
        missing = self.missing_outputs()
        if missing:
            self.status = 'failed'
            raise RuntimeError(f'step {self.name!r} finished but did not write '
                               f'{", ".join(missing)}')
        self.status = 'done'


__all__ = ['PipelineStep', 'TOOLS_DIR_ENV', 'find_tools_dir', 'project_root', 'python_command',
           'per_image_outputs', 'fixed_outputs']

# Tools the pipeline runs; a folder holding them is the tools folder.
PIPELINE_TOOLS = ('train.py', 'infer_cam.py', 'make_pseudo_labels.py')


def find_tools_dir() -> str:
    """The folder of the tools the pipeline runs, absolute (see
    :func:`projects.acr.utils.tool_runner.find_tools_dir`: ``$ACR_TOOLS_DIR``, the
    checkout around this package, the working directory)."""
    return tool_runner.find_tools_dir(PIPELINE_TOOLS, anchor=__file__)


def project_root() -> str:
    """The folder above the tools: the working directory of the steps.

    Configs name data relative to it (``data/VOCdevkit/...``), as when a user runs the
    tools from the checkout.
    """
    return osp.dirname(find_tools_dir())


def python_command(script: str, *args: str) -> List[str]:
    """A tool invocation with the running interpreter; ``tools/...`` is resolved in
    :func:`find_tools_dir`."""
    tools_dir = find_tools_dir() if script.startswith('tools/') else None
    return tool_runner.tool_command(script, *args, python=sys.executable, tools_dir=tools_dir)


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
