"""Runs per-file conversion tasks in worker processes, with few tasks in flight at a time.

``multiprocessing.Pool.imap`` would read its whole input ahead: fed from an archive, that
is the archive's content in memory. :class:`TaskPool` keeps at most a few tasks per worker
queued, so memory stays bounded however long the stream is.
"""
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, Optional, Set

from tqdm import tqdm


def _noop() -> None:
    return None


class TaskPool:
    """A process pool that maps a function over a stream of tasks.

    Use it as a context manager; :meth:`start` forks the workers at once, before the
    caller loads large data the workers do not need (they would inherit it).

    Args:
        workers (int): Worker processes; 1 runs every task in this process.
        max_pending_per_worker (int): Tasks queued per worker. Defaults to 4.
    """

    def __init__(self, workers: int = 1, max_pending_per_worker: int = 4) -> None:
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        self.workers = workers
        self.max_pending = max(1, workers * max_pending_per_worker)
        self._executor: Optional[ProcessPoolExecutor] = None

    def __enter__(self) -> 'TaskPool':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        """Starts the worker processes now (a no-op task waited for)."""
        if self.workers > 1 and self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            # fork is cheap and needs no re-import of the package in each worker.
            ctx = multiprocessing.get_context('fork' if 'fork' in methods else None)
            self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx)
            self._executor.submit(_noop).result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any], total: Optional[int] = None,
            desc: str = 'tasks', unit: str = 'file', progress: bool = True) -> Iterator[Any]:
        """``fn(task)`` for every task, results in completion order.

        Args:
            fn (callable): A picklable function of one task.
            tasks (iterable): The tasks, consumed lazily.
            total (int, optional): Number of tasks, for the progress bar.
            desc (str): Progress bar label.
            unit (str): Progress bar unit.
            progress (bool): Show a progress bar.

        Yields:
            The results. The first task that raises stops the run: queued tasks are
            cancelled and its exception is raised here.
        """
        bar = tqdm(total=total, desc=desc, unit=unit, mininterval=1.0, dynamic_ncols=True,
                   disable=not progress)
        try:
            if self.workers == 1:
                for task in tasks:
                    result = fn(task)
                    bar.update()
                    yield result
                return
            self.start()
            pending: Set[Future] = set()
            try:
                for task in tasks:
                    if len(pending) >= self.max_pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            bar.update()
                            yield future.result()
                    pending.add(self._executor.submit(fn, task))
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        bar.update()
                        yield future.result()
            finally:
                for future in pending:
                    future.cancel()
                # Running tasks finish (their outputs are written atomically).
                wait(pending)
        finally:
            bar.close()
