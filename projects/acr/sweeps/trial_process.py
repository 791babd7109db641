"""One trial's training process: started, logged, watched, and stopped when asked.

The program runs in a session of its own with its output appended to a log file. While it
runs, a callback is polled (the sweep runner reads the metric the program has logged so far
and asks the pruner); when the callback says stop, the whole process group gets SIGTERM,
then SIGKILL. On Linux the program also dies with the worker (``PR_SET_PDEATHSIG``), so a
killed worker leaves no training behind that would race its re-queued trial.
"""
import os
import signal
import subprocess
import sys
import time
from collections import deque
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# Run before the program's own interpreter: ask the kernel to kill it when the worker
# dies, then become the program (execv keeps the setting).
_DEATH_SIGNAL_SHIM = ('import ctypes, os, sys\n'
                      'try:\n'
                      '    ctypes.CDLL(None, use_errno=True).prctl(1, 9)\n'
                      'except Exception:\n'
                      '    pass\n'
                      'os.execvp(sys.argv[1], sys.argv[1:])\n')


def _launch_argv(argv: Sequence[str]) -> List[str]:
    if sys.platform.startswith('linux'):
        return [sys.executable, '-c', _DEATH_SIGNAL_SHIM] + list(argv)
    return list(argv)


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
    if not os.path.isfile(path):
        return ''
    with open(path, encoding='utf-8', errors='replace') as f:
        return ''.join(deque(f, maxlen=lines))


def run_trial_process(argv: Sequence[str], cwd: str, env: Dict[str, str], log_path: str,
                      should_stop: Optional[Callable[[], bool]] = None,
                      poll_interval: float = 2.0) -> Tuple[int, bool]:
    """Runs a trial program to its end, or until ``should_stop`` returns True.

    Args:
        argv (Sequence[str]): The command line.
        cwd (str): Its working directory.
        env (dict): Its environment.
        log_path (str): Output file; stdout and stderr are appended after a header line
            ``# <time> $ <command>``.
        should_stop (callable, optional): Polled every ``poll_interval`` seconds while the
            program runs, and once after it ended.
        poll_interval (float): Seconds between polls.

    Returns:
        tuple[int, bool]: The exit status, and whether the program was stopped.

    Raises:
        KeyboardInterrupt: The worker was interrupted; the program was stopped first.
    """
    with open(log_path, 'a', encoding='utf-8') as log:
        log.write(f'\n# {time.strftime("%Y-%m-%d %H:%M:%S")} $ {" ".join(argv)}\n')
        log.flush()
        proc = subprocess.Popen(_launch_argv(argv), cwd=cwd, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while True:
                try:
                    code = proc.wait(timeout=poll_interval)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if should_stop is not None and should_stop():
                    stop_process_group(proc)
                    return proc.returncode, True
        except BaseException:
            stop_process_group(proc)
            raise
    if should_stop is not None:
        should_stop()  # see what the program logged last
    return code, False
