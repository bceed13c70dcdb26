"""Worker processes that draw a sweep's forecasts off the service's event loop.

A sweep's batch draws hundreds of Monte Carlo forecasts; in the service process that is CPU time
the event loop cannot give to requests (a writer's every statement waits for it). The monitor
hands the draws (``simulate.Job``, plain data) to ``MONITOR_FORECAST_PROCESSES`` worker processes,
started with the monitor (``Monitor.start``; else on first use) and stopped with it (``Monitor.stop``),
and prepares its next batch meanwhile. They run at a lower CPU priority: on a host shared with the
database, a request's statements go first. With 0 processes
the draws run in the event loop, taking turns (``app/turns.py``); so they do, with a warning, once
the worker processes fail (they could not start, say: a script without a ``__main__`` guard that
starts the monitor cannot be imported again by them).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from app.forecast.simulate import Forecast, Job, run_all

log = logging.getLogger(__name__)

# Added to a worker process's niceness: drawing is background work, and the sweep waits for it
# only where the batch before is still writing.
WORKER_NICENESS = 10


def _lower_priority() -> None:
    """A worker process's start: yield the CPU to the service's and the database's processes."""
    os.nice(WORKER_NICENESS)


def _ready() -> int:
    """A worker's first job, to have it started: its niceness."""
    return os.nice(0)


class DrawingPool:
    """Up to ``processes`` worker processes (none: draw in this process), started on first use."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: Executor | None = None

    def start(self) -> list[Future[int]]:
        """Start the worker processes now rather than on the first draw, which then need not wait
        for them (the forkserver's start, importing numpy); done as each one is up (its niceness)."""
        if self.processes <= 0 or self._executor is not None:
            return []
        executor = self._started()
        return [executor.submit(_ready) for _ in range(self.processes)]  # a worker starts for each job no idle one takes

    def submit(self, jobs: Sequence[Job]) -> asyncio.Future[list[Forecast]] | None:
        """The forecasts of these jobs, drawn in a worker process; None: no worker processes (draw them here)."""
        if self.processes <= 0 or not jobs:
            return None
        return asyncio.get_running_loop().run_in_executor(self._started(), run_all, list(jobs))

    def _started(self) -> Executor:
        if self._executor is None:
            # forkserver, not fork: the service process has threads (the SQLite driver's, the
            # event loop's executor), and a forked copy of a lock one of them holds never opens.
            context = multiprocessing.get_context("forkserver")
            # The server imports the simulation (numpy) once; a worker forked from it starts at once.
            context.set_forkserver_preload(["app.forecast.simulate"])
            self._executor = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_lower_priority)
        return self._executor

    async def results(self, pending: asyncio.Future[list[Forecast]], jobs: Sequence[Job]) -> list[Forecast]:
        """What ``submit`` gave for these jobs; drawn here if the worker processes failed (and from then on)."""
        try:
            return await pending
        except Exception:
            log.warning("the forecast worker processes failed: drawing forecasts in this process from now on", exc_info=True)
            self.processes = 0
            self.close()
            return run_all(jobs)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
