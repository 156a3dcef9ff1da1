"""RunFuture: the handle of a submitted task run."""

from __future__ import annotations

import threading
from typing import Any

from runs.links import link_in_current_flow_run
from runs.orchestration.records import TaskRunRecord
from runs.states import State


class _Finished:
    """What a future keeps of its run once the run is final and its hooks have run: the
    record's threading objects, inputs and times go (memory stays flat for long maps)."""

    __slots__ = ("id", "name", "state", "flow_run_id", "hooks_done")

    def __init__(self, record: TaskRunRecord) -> None:
        self.id = record.id
        self.name = record.name
        self.state = record.state
        self.flow_run_id = record.flow_run_id
        self.hooks_done = record.hooks_done  # set before the run is final, if it has hooks

    #: Waiting is over: shared by every finished run.
    final_event = threading.Event()
    final_event.set()

    def is_final(self) -> bool:
        return True


class RunFuture:
    """A task run handed to a task runner; wait for its final state or its result."""

    def __init__(self, record: TaskRunRecord) -> None:
        self._record = record
        # Keeps only the finished part of its record once final (a subclass, such as the Celery
        # runner's future that reads the state from the database, keeps the record).
        if type(self) is RunFuture:
            with record.lock:
                if record.final_event.is_set():
                    self._record = _Finished(record)
                else:
                    record.on_final.append(self._compact)

    def _compact(self, state: State) -> None:
        """Called once the run is final: keep only what a finished run needs."""
        self._record = _Finished(self._record)

    @property
    def task_run_id(self):
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def state(self) -> State:
        """The run's current state (not waiting)."""
        return self._record.state

    def _settled(self) -> bool:
        """Whether the run is final and its hooks have run (nothing left to wait for)."""
        record = self._record
        if not record.final_event.is_set():
            return False
        hooks_done = record.hooks_done
        return hooks_done is None or hooks_done.is_set()

    def _wait_final(self, timeout: float | None) -> bool:
        record = self._record
        if not record.final_event.wait(timeout):
            return False
        hooks_done = record.hooks_done
        return hooks_done is None or hooks_done.wait(timeout)

    def wait(self, timeout: float | None = None) -> State | None:
        """Wait for the run's final state, up to ``timeout`` seconds (forever when None);
        None if the run has not finished by then, as in Prefect 2."""
        if not self._wait_final(timeout):
            return None
        return self.state

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The run's result; raises its exception if it failed (unless raise_on_failure=False).

        Raises TimeoutError if the run is not final within ``timeout`` seconds.
        """
        if not self._wait_final(timeout):
            raise TimeoutError(
                f"Task run {self.name!r} did not finish within {timeout} seconds "
                f"(it is {self.state.name})."
            )
        result = self.state.result(raise_on_failure=raise_on_failure)
        record = self._record
        if record.state.is_completed():
            link_in_current_flow_run(record.flow_run_id, record.id, result)
        return result

    def __await__(self):
        """``await task.submit(...)``, as Prefect 2 writes it in async flows, gives the future."""
        return self
        yield  # pragma: no cover  (makes this a generator)

    def __repr__(self) -> str:
        return f"RunFuture({self.name!r}, state={self.state!r})"


class RunFutureList(list):
    """What ``task.map()`` returns: its futures (or final states, with ``return_state=True``);
    ``await``-ing it (Prefect 2's async style) gives itself."""

    def __await__(self):
        return self
        yield  # pragma: no cover
