"""Which flow run and task run the current code is in, and the tags in force: context variables.

``get_run_context()`` gives the current run's context, as Prefect 2's ``prefect.context`` does.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runs.states import State
from runs.values import cut

if TYPE_CHECKING:
    from runs.flows import Flow
    from runs.futures import RunFuture
    from runs.orchestration.records import FlowRunRecord, TaskRunRecord
    from runs.runners import TaskRunner
    from runs.tasks import Task


class MissingContextError(RuntimeError):
    """A run-only function was called outside a flow run or task run (Prefect's name)."""


#: How many task runs (and futures) a flow run adds between two sweeps of the finished ones.
SWEEP_EVERY = 256


@dataclass
class FlowRunContext:
    """The flow run being executed: its record, its task runner and the futures it created.

    Memory stays flat however many task runs the flow makes: a finished task run leaves here
    only its final state (see :meth:`add_task_run`), and the engine keeps a future only while
    its run may be unfinished (a future the caller dropped goes once its run is final).
    """

    flow: Flow
    flow_run: FlowRunRecord
    task_runner: TaskRunner
    #: The futures of this attempt's submitted runs that may still be unfinished: the flow
    #: waits for them before it ends (finished ones are swept out, see :meth:`add_future`).
    futures: list[RunFuture] = field(default_factory=list)
    name_counters: dict[Any, int] = field(default_factory=dict)
    log_prints: bool = False
    #: The task runs this attempt of the flow run made (subflows' included), in call order:
    #: the record while the run may be unfinished, its final State once swept. A flow that
    #: returns None ends in the aggregate of their states, as in Prefect 2.
    task_runs: list[Any] = field(default_factory=list)
    #: id(result) -> (task run id, result) of direct calls, so a plain value passed on links runs
    results_by_id: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    #: The completed task runs of earlier attempts by (code key, call number in the attempt): a
    #: retried flow run reuses them instead of running those calls again, as Prefect 2 does.
    reusable: dict[tuple[Any, int], TaskRunRecord] = field(default_factory=dict)
    attempt_counters: dict[Any, int] = field(default_factory=dict)
    #: Whether the flow run may be retried: only then are completed task runs kept whole (by
    #: reuse key) for the next attempt to reuse.
    retriable: bool = False
    #: Indexes in ``task_runs`` of the records not yet swept (unfinished at the last sweep).
    _unswept: list[int] = field(default_factory=list, repr=False)
    _added: int = field(default=0, repr=False)
    _futures_added: int = field(default=0, repr=False)
    #: The completed records of this attempt by reuse key (``retriable`` flows only).
    _completed: dict[tuple[Any, int], TaskRunRecord] = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    def add_task_run(self, record: TaskRunRecord) -> None:
        """Count ``record`` among the task runs of this attempt (in call order)."""
        with self._lock:
            self._unswept.append(len(self.task_runs))
            self.task_runs.append(record)
            self._added += 1
            if self._added >= SWEEP_EVERY and self._added >= len(self._unswept) // 2:
                self._sweep()

    def add_future(self, future: RunFuture) -> None:
        """Keep ``future`` for the flow to wait on, while its run may be unfinished."""
        with self._lock:
            futures = self.futures
            futures.append(future)
            self._futures_added += 1
            if self._futures_added >= SWEEP_EVERY and self._futures_added >= len(futures) // 2:
                self._futures_added = 0
                self.futures = [f for f in futures if not f._settled()]

    def _sweep(self) -> None:
        """Replace the finished records in ``task_runs`` by their final states (the rest of a
        record, its inputs and threading objects, goes with it)."""
        self._added = 0
        runs = self.task_runs
        unswept = []
        for index in self._unswept:
            record = runs[index]
            state = record.state
            if state is None or not record.final_event.is_set():
                unswept.append(index)
                continue
            if self.retriable and record.reuse_key is not None and state.is_completed():
                self._completed[record.reuse_key] = record
            runs[index] = state
        self._unswept = unswept

    def task_run_states(self) -> list[State]:
        """The current states of this attempt's task runs, in call order."""
        with self._lock:
            states = []
            for entry in self.task_runs:
                state = entry if isinstance(entry, State) else entry.state
                if state is not None:
                    states.append(state)
            return states

    def start_attempt(self) -> None:
        """A new attempt of the flow run begins: what completed in the last one is reusable."""
        with self._lock:
            if self.retriable:
                self._sweep()
                for index in self._unswept:
                    record = self.task_runs[index]
                    state = record.state
                    if record.reuse_key is not None and state and state.is_completed():
                        self._completed[record.reuse_key] = record
                self.reusable.update(self._completed)
                self._completed.clear()
            self.task_runs.clear()
            self._unswept.clear()
            self._added = 0
            self.attempt_counters.clear()

    def next_call_key(self, code_key: Any) -> tuple[Any, int]:
        """The key of a task call in this attempt: its code and how many calls of that code
        came before it in the attempt (the same call in a retried attempt has the same key)."""
        index = self.attempt_counters.get(code_key, 0)
        self.attempt_counters[code_key] = index + 1
        return (code_key, index)

    def next_index(self, key: Any) -> int:
        """Per task function (or subflow), the index in default run names (my_task-0,
        my_task-1...)."""
        index = self.name_counters.get(key, 0)
        self.name_counters[key] = index + 1
        return index


@dataclass
class TaskRunContext:
    """The task run being executed; also the ``context`` passed to ``cache_key_fn``."""

    task: Task
    task_run: TaskRunRecord
    parameters: dict[str, Any]
    log_prints: bool = False

    @property
    def task_run_id(self):
        return self.task_run.id

    @property
    def flow_run_id(self):
        return self.task_run.flow_run_id


flow_run_context: contextvars.ContextVar[FlowRunContext | None] = contextvars.ContextVar(
    "runs_flow_run", default=None
)
task_run_context: contextvars.ContextVar[TaskRunContext | None] = contextvars.ContextVar(
    "runs_task_run", default=None
)
_tags: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "runs_tags", default=frozenset()
)


def get_run_context() -> TaskRunContext | FlowRunContext:
    """The context of the current task run, else of the current flow run.

    A task run's context has ``task``, ``task_run`` and ``parameters``; a flow run's has
    ``flow``, ``flow_run`` and ``task_runner``, as in Prefect 2. Outside any run this raises
    MissingContextError.
    """
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return task_ctx
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        return flow_ctx
    raise MissingContextError(
        "No run context available. You are not in a flow or task run context: call "
        "get_run_context() inside a function decorated with @flow or @task."
    )


def current_tags() -> frozenset[str]:
    """Tags added by every enclosing ``with tags(...)``."""
    return _tags.get()


#: The longest tag stored; longer ones are cut (runs.values.cut).
TAG_LENGTH = 200


@contextmanager
def tags(*new_tags: str) -> Iterator[frozenset[str]]:
    """Add tags to every task run and flow run called inside the block (nested blocks add up)."""
    for tag in new_tags:
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"Tags must be non-empty strings; got {tag!r}.")
    new_tags = tuple(cut(tag, TAG_LENGTH) for tag in new_tags)
    token = _tags.set(_tags.get() | frozenset(new_tags))
    try:
        yield _tags.get()
    finally:
        _tags.reset(token)
