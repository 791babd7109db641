"""Sum numpy results computed in forked worker processes.

Counting work made of many short numpy calls (the threshold sweep over a split) gains
nothing from threads, because every call takes the GIL back; forked processes share the
parent's memory copy-on-write, so neither the work function nor its data are pickled,
and only the (small) results and progress ticks travel back.
"""
import multiprocessing as mp
import queue
import sys
import traceback
from typing import Callable

import numpy as np

#: Work of one worker: ``work(rank, tick)`` handles its share of the items, calls
#: ``tick(n)`` after every ``n`` items done, and returns its summed array.
ShareFn = Callable[[int, Callable[[int], None]], np.ndarray]


def fork_available() -> bool:
    """Whether worker processes can be forked (Linux: other systems default to spawn)."""
    return sys.platform.startswith('linux') and 'fork' in mp.get_all_start_methods()


def sum_in_forks(work: ShareFn, workers: int,
                 on_progress: Callable[[int], None] = lambda n: None,
                 poll_s: float = 0.5) -> np.ndarray:
    """Runs ``work(rank, tick)`` for ranks ``0..workers-1`` in forked processes, sums.

    Args:
        work (Callable): The share of one rank; see :data:`ShareFn`. Its exceptions are
            raised here (the first one, with the worker's traceback as its cause).
        workers (int): Processes, >= 1.
        on_progress (Callable[[int], None]): Called in this process with each tick.
        poll_s (float): How often a silent wait checks that the workers are alive.

    Returns:
        np.ndarray: The sum of the workers' results.

    Raises:
        RuntimeError: When fork is unavailable, or a worker dies without a result.
    """
    if not fork_available():
        raise RuntimeError('forked workers need Linux; run with one worker instead')
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    ctx = mp.get_context('fork')
    messages = ctx.Queue()

    def run(rank: int) -> None:
        try:
            result = work(rank, lambda n: messages.put(('tick', rank, n)))
            messages.put(('done', rank, result))
        except BaseException as exc:  # noqa: B902 -- reported to the parent, which raises
            text = traceback.format_exc()
            try:
                messages.put(('error', rank, (exc, text)))
            except Exception:  # the exception itself does not pickle
                messages.put(('error', rank, (RuntimeError(repr(exc)), text)))

    procs = [ctx.Process(target=run, args=(rank, ), daemon=True) for rank in range(workers)]
    for p in procs:
        p.start()
    total = None
    pending = set(range(workers))
    try:
        while pending:
            try:
                kind, rank, payload = messages.get(timeout=poll_s)
            except queue.Empty:
                dead = [r for r in pending if procs[r].exitcode is not None]
                if dead:
                    # A worker that exited may still have its last message in the pipe.
                    try:
                        kind, rank, payload = messages.get(timeout=poll_s)
                    except queue.Empty:
                        r = dead[0]
                        raise RuntimeError(f'worker {r} of {workers} exited with code '
                                           f'{procs[r].exitcode} before its result') from None
                else:
                    continue
            if kind == 'tick':
                on_progress(payload)
            elif kind == 'error':
                exc, text = payload
                raise exc from RuntimeError(f'in worker {rank} of {workers}:\n{text}')
            else:
                total = payload if total is None else total + payload
                pending.discard(rank)
    finally:
        for p in procs:
            if p.exitcode is None and pending:
                p.terminate()
        for p in procs:
            p.join()
        messages.close()
    return total
