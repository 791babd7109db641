"""Running the toolkit's command-line tools (``tools/*.py``) in subprocesses.

The pipeline, the sweeps, the ablations and the toy pretraining all start tools such as
``tools/train.py`` in a process of their own: training builds mmengine runners, whose
logger and visualizer are process-wide, and takes a launcher on several GPUs. The tools
are scripts next to the package in a checkout, not part of an installed package, so their
folder is looked up (:func:`find_tools_dir`) rather than derived from one file alone, and
every caller starts them through :func:`run_process`.
"""
import contextlib
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from collections import deque
from typing import Callable, Dict, List, Optional, Sequence, Tuple

TOOLS_DIR_ENV = 'ACR_TOOLS_DIR'

# Run before the program's own interpreter: ask the kernel to kill it when its parent
# dies, then become the program (execv keeps the setting).
_DEATH_SIGNAL_SHIM = ('import ctypes, os, sys\n'
                      'try:\n'
                      '    ctypes.CDLL(None, use_errno=True).prctl(1, 9)\n'
                      'except Exception:\n'
                      '    pass\n'
                      'os.execvp(sys.argv[1], sys.argv[1:])\n')


def _checkout_of(anchor: str) -> str:
    """The folder holding ``projects/`` for a file ``projects/<pkg>/<sub>/<file>.py``."""
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(anchor)))))


def find_tools_dir(required: Sequence[str] = ('train.py', ),
                   anchor: Optional[str] = None) -> str:
    """The folder of the command-line tools, absolute.

    Looked for, in order: ``$ACR_TOOLS_DIR``; ``tools/`` of the checkout around the
    ``projects`` package (a checkout, or an editable install); ``tools/`` in the working
    directory. A non-editable install has no tools next to the package: run from the
    checkout or set ``ACR_TOOLS_DIR``.

    Args:
        required (Sequence[str]): Tools the folder must hold to count.
        anchor (str, optional): A module file at ``projects/<package>/<sub>/`` whose
            checkout is tried (default: this file).

    Raises:
        FileNotFoundError: ``ACR_TOOLS_DIR`` is set but lacks a required tool, or no
            candidate holds them all; the message names what was tried.
    """
    env = os.environ.get(TOOLS_DIR_ENV)
    if env:  # set on purpose: a wrong value is an error, not a reason to look elsewhere
        missing = [t for t in required if not osp.isfile(osp.join(env, t))]
        if missing:
            raise FileNotFoundError(f'{TOOLS_DIR_ENV}={env} holds no {", ".join(missing)}, so '
                                    'it does not hold the tools; point it at the tools/ '
                                    'folder of a checkout')
        return osp.abspath(env)
    candidates = [osp.join(_checkout_of(anchor or __file__), 'tools'),
                  osp.join(os.getcwd(), 'tools')]
    for path in candidates:
        if all(osp.isfile(osp.join(path, t)) for t in required):
            return osp.abspath(path)
    raise FileNotFoundError(f'the tools folder ({", ".join(required)}) was not found in '
                            f'{", ".join(candidates)}; run from a checkout of the repository '
                            f'or set {TOOLS_DIR_ENV}')


def repo_root(required: Sequence[str] = ('train.py', ), anchor: Optional[str] = None) -> str:
    """The folder above the tools, where they run: configs name data relative to it."""
    return osp.dirname(find_tools_dir(required, anchor))


def tool_command(script: str, *args: str, python: str = sys.executable,
                 tools_dir: Optional[str] = None) -> List[str]:
    """A tool invocation with the running interpreter (the project's virtual environment).

    Args:
        script (str): ``tools/<name>.py`` (resolved in ``tools_dir``, by default
            :func:`find_tools_dir`) or any other script path (left as given).
        *args (str): Its arguments.
        python (str): The interpreter.
        tools_dir (str, optional): The tools folder.
    """
    if script.startswith('tools/'):
        script = osp.join(tools_dir or find_tools_dir(), script[len('tools/'):])
    return [python, script, *args]


def stop_process_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process group of ``proc``, SIGKILL after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: str, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file (empty when it does not exist)."""
    if not osp.isfile(path):
        return ''
    with open(path, encoding='utf-8', errors='replace') as f:
        return ''.join(deque(f, maxlen=lines))


def _launch_argv(argv: Sequence[str]) -> List[str]:
    if sys.platform.startswith('linux'):
        return [sys.executable, '-c', _DEATH_SIGNAL_SHIM] + list(argv)
    return list(argv)


def run_process(argv: Sequence[str],
                cwd: Optional[str] = None,
                env: Optional[Dict[str, str]] = None,
                log_path: Optional[str] = None,
                isolate: bool = False,
                should_stop: Optional[Callable[[], bool]] = None,
                poll_interval: float = 2.0) -> Tuple[int, bool]:
    """Runs a program to its end, or until ``should_stop`` returns True.

    Args:
        argv (Sequence[str]): The command line.
        cwd (str, optional): Its working directory.
        env (dict, optional): Its environment (default: this process's).
        log_path (str, optional): Append stdout and stderr to this file after a header
            line ``# <time> $ <command>``; without it the output goes to this process's.
        isolate (bool): Run the program in a session of its own that dies with this
            process (Linux), so that it can be stopped as a whole and never outlives a
            killed parent. Otherwise it is a plain child (Ctrl-C reaches it too).
        should_stop (callable, optional): Polled every ``poll_interval`` seconds while the
            program runs, and once after it ended; True stops the program's process
            group (SIGTERM, then SIGKILL). Needs ``isolate``.
        poll_interval (float): Seconds between polls.

    Returns:
        tuple[int, bool]: The exit status, and whether the program was stopped.

    Raises:
        KeyboardInterrupt: This process was interrupted; the program was stopped first.
    """
    if should_stop is not None and not isolate:
        raise ValueError('should_stop needs isolate=True: only a program in a session of '
                         'its own can be stopped with its children')
    with contextlib.ExitStack() as stack:
        out = None
        if log_path:
            out = stack.enter_context(open(log_path, 'a', encoding='utf-8'))
            out.write(f'\n# {time.strftime("%Y-%m-%d %H:%M:%S")} $ {" ".join(argv)}\n')
            out.flush()
        proc = subprocess.Popen(_launch_argv(argv) if isolate else list(argv), cwd=cwd,
                                env=env, stdout=out,
                                stderr=subprocess.STDOUT if out is not None else None,
                                start_new_session=isolate)
        try:
            while True:
                try:
                    code = proc.wait(timeout=poll_interval if should_stop else None)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if should_stop():
                    stop_process_group(proc)
                    return proc.returncode, True
        except BaseException:
            if isolate:
                stop_process_group(proc)
            else:
                proc.kill()
                proc.wait()
            raise
    if should_stop is not None:
        should_stop()  # see what the program logged last
    return code, False
