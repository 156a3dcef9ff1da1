"""CeleryTaskRunner: each submitted task run becomes a Celery message run by ``runs worker``.

Upstream futures are resolved in the calling process (a small local thread pool, so
``submit`` never blocks), then the task and its inputs travel as a signed cloudpickle payload.
The worker runs the same engine against the same database; the future resolves from the
database, and the result from the result store (the worker persists it).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from runs.futures import RunFuture
from runs.runners import TaskRunner
from runs.states import State

if TYPE_CHECKING:
    from runs.engine.task_engine import TaskRunEngine

POLL_SECONDS = 0.02


class CeleryRunFuture(RunFuture):
    """A future whose state is read from the database until it is final."""

    def _refresh(self) -> State:
        from runs.models import TaskRun

        record = self._record
        if record.is_final():
            return record.state
        row = (TaskRun.objects.filter(id=record.id)
               .values("state_type", "state_name", "state_message", "state_timestamp",
                       "result_key").first())
        if row is None:
            return record.state
        state = State(type=row["state_type"], name=row["state_name"],
                      message=row["state_message"], result_key=row["result_key"],
                      timestamp=row["state_timestamp"] or record.created,
                      task_run_id=record.id, run_name=record.name)
        if state.is_final():
            with record.lock:
                record.state = state
                record.final_event.set()
                for callback in record.on_final:
                    callback(state)
        return state

    @property
    def state(self) -> State:
        return self._refresh()

    def _wait_final(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = POLL_SECONDS
        while True:
            if self._refresh().is_final():
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            wait = delay if remaining is None else min(delay, remaining)
            self._record.final_event.wait(wait)
            delay = min(delay * 1.5, 0.5)


class CeleryTaskRunner(TaskRunner):
    """Send submitted task runs to Celery workers (``runs worker``)."""

    name = "celery"

    def __init__(self, queue: str | None = None) -> None:
        self.queue = queue
        self._dispatcher: ThreadPoolExecutor | None = None

    def duplicate(self) -> CeleryTaskRunner:
        return CeleryTaskRunner(self.queue)

    def submit(self, engine: TaskRunEngine) -> RunFuture:
        engine.record.sync = True  # the worker reads the row: write every transition at once
        engine.start()
        if self._dispatcher is None:
            self._dispatcher = ThreadPoolExecutor(8, thread_name_prefix="runs-celery-send")
        self._dispatcher.submit(self._send, engine)
        return CeleryRunFuture(engine.record)

    def _send(self, engine: TaskRunEngine) -> None:
        from runs.signing import dumps
        from runs.worker import run_task_run

        try:
            if engine.resolve_inputs() is not None:
                return  # an upstream failed: the run ended here, nothing to send
            payload = dumps({"task": engine.task, "task_run_id": str(engine.record.id),
                             "parameters": engine.parameters})
            options = {"queue": self.queue} if self.queue else {}
            run_task_run.apply_async(args=[payload], **options)
        except BaseException as exc:
            if not engine.record.is_final():
                engine.crashed(exc)

    def shutdown(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.shutdown(wait=True)
            self._dispatcher = None
