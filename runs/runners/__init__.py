"""Task runners: where ``.submit()`` and ``.map()`` runs execute."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from runs import conf
from runs.futures import RunFuture

if TYPE_CHECKING:
    from runs.engine.task_engine import TaskRunEngine

logger = logging.getLogger("runs.runners")


class TaskRunner:
    """Base of task runners: ``submit`` a task run engine, get a future; ``shutdown`` at flow end."""

    name = "base"

    def start(self) -> None:
        """Called when the flow run starts."""

    def submit(self, engine: TaskRunEngine) -> RunFuture:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Called when the flow run has waited for all its runs."""

    def abandon(self) -> None:
        """The flow run was interrupted (Ctrl-C, an exit): stop what has not started, and stop
        waiting for what runs elsewhere. Runs in this process are still waited for, as in
        Prefect 2 (nothing to do here)."""

    def duplicate(self) -> TaskRunner:
        """A fresh runner with the same settings (each flow run gets its own)."""
        return type(self)()


def _run_engine(engine: TaskRunEngine, started: threading.Semaphore | None = None) -> None:
    if started is not None:
        started.release()
    try:
        if engine.task.isasync:
            asyncio.run(engine.run_async())
        else:
            engine.run_sync()
    except BaseException as exc:  # the state already says what happened
        if not engine.record.is_final():
            engine.crashed(exc)
        if not isinstance(exc, Exception):
            logger.debug("Task run %s ended by %r", engine.record.name, exc)


class ThreadPoolTaskRunner(TaskRunner):
    """Runs submitted task runs in a pool of threads of this process (the default)."""

    name = "thread"
    #: Most submitted runs waiting for a thread at once: a flow that submits more (a long map)
    #: waits for runs to start, so memory holds that many queued runs, not every run submitted.
    MAX_QUEUED = 1000

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._queued = threading.BoundedSemaphore(self.MAX_QUEUED)

    def duplicate(self) -> ThreadPoolTaskRunner:
        return ThreadPoolTaskRunner(self.max_workers)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    workers = self.max_workers or conf.settings.RUNS_THREAD_RUNNER_MAX_WORKERS
                    workers = workers or min(64, (os.cpu_count() or 1) * 8)
                    self._executor = ThreadPoolExecutor(workers, thread_name_prefix="runs-task")
        return self._executor

    def submit(self, engine: TaskRunEngine) -> RunFuture:
        engine.start()
        context = contextvars.copy_context()
        queued = self._queued
        queued.acquire()
        try:
            self._pool().submit(context.run, _run_engine, engine, queued)
        except BaseException:
            queued.release()
            raise
        return RunFuture(engine.record)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=False)
            self._executor = None


ConcurrentTaskRunner = ThreadPoolTaskRunner


class SequentialTaskRunner(TaskRunner):
    """Runs each submitted task run at once, in the caller's thread, one after another."""

    name = "sequential"

    def submit(self, engine: TaskRunEngine) -> RunFuture:
        from runs.engine.threads import in_event_loop, run_in_thread

        engine.start()
        if in_event_loop():  # submitted from an async flow: run it beside the flow's loop
            run_in_thread(lambda: _run_engine(engine))
        else:
            _run_engine(engine)
        return RunFuture(engine.record)
