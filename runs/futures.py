"""RunFuture: the handle of a submitted task run."""

from __future__ import annotations

import functools
import threading
from typing import Any

from runs.context import AttemptRuns, flow_run_context, plain
from runs.links import link_result
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


def _runs_holding(record: TaskRunRecord) -> AttemptRuns | None:
    """The task runs of the current flow run attempt, if ``record`` is among them."""
    ctx = flow_run_context.get()
    if ctx is None:
        return None
    runs = ctx.task_runs
    return runs if runs.holds(record) else None


def _finished(record: TaskRunRecord, runs: AttemptRuns | None) -> _Finished | _Compact:
    """What a future keeps of its final run (``runs``: the attempt's task runs holding it)."""
    state = record.state
    if (
        runs is not None
        and record.hooks_done is None
        # the engine names the state's run just after it is final
        and plain(state, state.task_run_id if state.task_run_id is None else record.id)
    ):
        return _Compact(runs, record.call_index, record.name)
    return _Finished(record)


class _Compact:
    """What a future keeps of a run that completed plainly once it is final: where the run
    stands among its flow run's task runs (runs.context.AttemptRuns), which keep its id, time
    and result compact, and its name. Its state is made again when read."""

    __slots__ = ("_runs", "_index", "name")

    hooks_done = None
    final_event = _Finished.final_event

    def __init__(self, runs: AttemptRuns, index: int, name: str) -> None:
        self._runs = runs
        self._index = index
        self.name = name

    @property
    def id(self):
        return self._runs.read(self._index)[1]

    @property
    def state(self) -> State:
        return self._runs.read(self._index)[0]

    @property
    def flow_run_id(self):
        return self._runs.flow_run_id

    def is_final(self) -> bool:
        return True


class RunFuture:
    """A task run handed to a task runner; wait for its final state or its result."""

    __slots__ = ("_record",)

    def __init__(self, record: TaskRunRecord) -> None:
        self._record = record
        # Keeps only the finished part of its record once final (a subclass, such as the Celery
        # runner's future that reads the state from the database, keeps the record).
        if type(self) is RunFuture:
            runs = _runs_holding(record)
            with record.lock:
                if record.final_event.is_set():
                    self._record = _finished(record, runs)
                else:
                    record.on_final.append(functools.partial(self._compact, runs))

    def _compact(self, runs: AttemptRuns | None, state: State) -> None:
        """Called once the run is final: keep only what a finished run needs."""
        self._record = _finished(self._record, runs)

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
            _link_in_current_flow_run(record.flow_run_id, record.id, result)
        return result

    def __await__(self):
        """``await task.submit(...)``, as Prefect 2 writes it in async flows, gives the future."""
        return self
        yield  # pragma: no cover  (makes this a generator)

    def __repr__(self) -> str:
        return f"RunFuture({self.name!r}, state={self.state!r})"


def _link_in_current_flow_run(flow_run_id, run_id, result) -> None:
    """Link ``result`` to ``run_id`` in the flow run being executed here, if it is
    ``flow_run_id`` (a future's result read inside its own flow; see runs.links)."""
    from runs.context import flow_run_context

    ctx = flow_run_context.get()
    if ctx is not None and ctx.flow_run.id == flow_run_id:
        if not ctx.is_linked(run_id, result):
            link_result(ctx.results_by_id, run_id, result)


class RunFutureList(list):
    """What ``task.map()`` returns: its futures (or final states, with ``return_state=True``);
    ``await``-ing it (Prefect 2's async style) gives itself."""

    def __await__(self):
        return self
        yield  # pragma: no cover
