"""Which flow run and task run the current code is in, and the tags in force: context variables.

``get_run_context()`` gives the current run's context, as Prefect 2's ``prefect.context`` does.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import uuid
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runs.states import State, StateType
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


# ---- the task runs of an attempt ----------------------------------------------------------------
# A flow run keeps of each task run it made what a later call can still need: its final state (a
# flow that returns None stands for all of them, as in Prefect 2) and its result, which upstream
# links by identity name (runs.links). A run that completed plainly (the Completed state the
# engine makes: no message, no stored result, no cache key) is kept as its id (16 bytes), the
# time of its final state (8 bytes) and its result; any other final state is kept whole, and a
# run not final yet as its record. The States are made again when they are read. A link from a
# result to the run that made it is compact too: id(result) -> the run's index in call order,
# where the result is that run's own; other links are runs.links' pairs.

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_COMPLETED = StateType.COMPLETED
_UTC = dt.UTC
_NO_ID = bytes(16)

#: What an entry holds: the run's record (not final when last swept), its final State, or the
#: result of a plainly completed run.
_RECORD, _WHOLE, _COMPACT = 0, 1, 2


def plain(state: State, run_id: uuid.UUID) -> bool:
    """Whether ``state`` is the Completed state the engine makes for the run ``run_id``: all of
    it but its time and result can be made again."""
    return (
        state.type is _COMPLETED
        and type(state) is State
        and state.name == "Completed"
        and not state.message
        and not state.result_key
        and state.cache_key is None
        and state.cache_expiration is None
        and state.scheduled_time is None
        and state.flow_run_id is None
        and state.on_load is None
        and state.task_run_id is run_id
        and state.has_data
        and state.timestamp.tzinfo is _UTC
    )


class AttemptRuns:
    """The task runs of one attempt of a flow run, in call order (see the comment above).

    Not thread-safe: the flow run's context holds its lock around every call.
    """

    __slots__ = (
        "_entries",
        "_kinds",
        "_ids",
        "_times",
        "_unswept",
        "_links",
        "added",
        "lock",
        "flow_run_id",
    )

    def __init__(self, flow_run_id: Any = None) -> None:
        #: The flow run whose task runs these are.
        self.flow_run_id = flow_run_id
        #: Held while entries change (sweep) and while a future reads one (:meth:`read`).
        self.lock = threading.Lock()
        self._entries: list[Any] = []
        self._kinds = bytearray()
        self._ids = bytearray()
        #: Microseconds since the epoch of a compact entry's final state (0 for the others).
        self._times = array("q")
        #: Indexes of the entries that were records at the last sweep.
        self._unswept: list[int] = []
        #: Entries added since the last sweep.
        self.added = 0
        #: id(result) -> index of the run whose result it is.
        self._links = IdIndex()

    def __len__(self) -> int:
        return len(self._entries)

    def has_links(self) -> bool:
        return bool(self._links)

    def add(self, record: Any) -> int:
        """Append a task run's record; returns its index in call order."""
        index = len(self._entries)
        record.call_index = index
        self._entries.append(record)
        self._kinds.append(_RECORD)
        self._ids += _NO_ID
        self._times.append(0)
        self._unswept.append(index)
        self.added += 1
        return index

    def unswept(self) -> int:
        return len(self._unswept)

    def sweep(self, completed: dict | None = None) -> None:
        """Replace the records of the final runs by their final states, compact where they can
        be. ``completed`` (reuse key -> record) gets the records of the runs that completed and
        can be reused by a later attempt (retriable flow runs only)."""
        self.added = 0
        entries, kinds, ids, times = self._entries, self._kinds, self._ids, self._times
        unswept = []
        with self.lock:
            self._sweep(completed, entries, kinds, ids, times, unswept)
        self._unswept = unswept

    def _sweep(self, completed, entries, kinds, ids, times, unswept) -> None:
        for index in self._unswept:
            record = entries[index]
            if not record.final_event.is_set():  # first: the state is final once this is set
                unswept.append(index)
                continue
            state = record.state
            if completed is not None and record.reuse_key is not None and state.is_completed():
                completed[record.reuse_key] = record
            run_id = record.id
            ids[16 * index : 16 * index + 16] = run_id.bytes
            if plain(state, run_id):
                entries[index] = state.data
                kinds[index] = _COMPACT
                times[index] = (state.timestamp - EPOCH) // _MICROSECOND
            else:
                entries[index] = state
                kinds[index] = _WHOLE

    def holds(self, record: Any) -> bool:
        """Whether ``record`` is among these runs (at its ``call_index``)."""
        index = record.call_index
        return 0 <= index < len(self._entries) and self._entries[index] is record

    def read(self, index: int) -> tuple[State | None, Any]:
        """(the state, the run id) of the run at ``index``, from any thread."""
        with self.lock:
            return self.state(index), self.run_id(index)

    def records(self) -> Iterator[Any]:
        """The records of the runs not final at the last sweep."""
        for index in self._unswept:
            yield self._entries[index]

    # ---- reading ------------------------------------------------------------------------------
    def state(self, index: int) -> State | None:
        """The current state of the run at ``index`` (None before its first)."""
        kind = self._kinds[index]
        entry = self._entries[index]
        if kind == _RECORD:
            return entry.state
        if kind == _WHOLE:
            return entry
        return State(
            type=_COMPLETED,
            name="Completed",
            timestamp=EPOCH + _MICROSECOND * self._times[index],
            data=entry,
            task_run_id=self.run_id(index),
        )

    def states(self) -> list[State]:
        """The current states of the runs, in call order (those that have one)."""
        found = (self.state(index) for index in range(len(self._entries)))
        return [state for state in found if state is not None]

    def kept_states(self) -> Iterator[State]:
        """The states of the runs that did not complete plainly (or are not final yet)."""
        kinds = self._kinds
        for index, entry in enumerate(self._entries):
            kind = kinds[index]
            if kind == _RECORD and entry.state is not None:
                yield entry.state
            elif kind == _WHOLE:
                yield entry

    def type_counts(self) -> tuple[Counter, int]:
        """(state type -> how many runs are in it, how many runs have a state)."""
        counts: Counter = Counter(state.type for state in self.kept_states())
        compact = self._kinds.count(_COMPACT)
        if compact:
            counts[_COMPLETED] += compact
        return counts, sum(counts.values())

    def run_id(self, index: int) -> uuid.UUID:
        if self._kinds[index] == _RECORD:
            return self._entries[index].id
        return uuid.UUID(bytes=bytes(self._ids[16 * index : 16 * index + 16]))

    def result(self, index: int) -> Any:
        """The result the run at ``index`` holds (None without one)."""
        kind = self._kinds[index]
        entry = self._entries[index]
        if kind == _COMPACT:
            return entry
        state = entry.state if kind == _RECORD else entry
        if state is None or not state.has_data:
            return None
        return state.data

    # ---- links from results ----------------------------------------------------------------
    def link(self, key: int, index: int) -> None:
        """Link the result whose ``id`` is ``key`` to the run at ``index``, whose result it is."""
        self._links.set(key, index)

    def linked_run(self, links: dict[int, Any], value: Any) -> Any:
        """The id of the task run ``value`` came from, or None: by ``links`` (``runs.links``'
        pairs), else by the links to these runs' own results."""
        key = id(value)
        known = links.get(key)
        if known is not None:
            return known[0] if known[1] is value else None
        index = self._links.get(key)
        if index is not None and self.result(index) is value:
            return self.run_id(index)
        return None

    def unpack_links(self, links: dict[int, Any]) -> None:
        """Add the links to these runs' results to ``links`` as ``runs.links``' pairs, before
        these runs are left behind (a new attempt numbers its runs from 0 again)."""
        for key, index in self._links.items():
            result = self.result(index)
            if key not in links and result is not None and id(result) == key:
                links[key] = (self.run_id(index), result)


class IdIndex:
    """``id(object) -> index``, in two arrays (open addressing, linear probing): 16 bytes a
    slot where a dict with the two int objects of each entry takes about 100. An entry is never
    removed, only given a new index."""

    __slots__ = ("_keys", "_values", "_used", "_mask")

    def __init__(self, size: int = 64) -> None:
        self._keys = array("q", bytes(8 * size))
        self._values = array("q", bytes(8 * size))
        self._used = 0
        self._mask = size - 1

    def _slot(self, key: int) -> int:
        keys, mask = self._keys, self._mask
        slot = (key >> 4) * 0x9E3779B1 & mask  # ids of objects are multiples of 16
        while True:
            found = keys[slot]
            if found == key or found == 0:
                return slot
            slot = (slot + 1) & mask

    def set(self, key: int, index: int) -> None:
        slot = self._slot(key)
        if self._keys[slot] == 0:
            self._keys[slot] = key
            self._used += 1
        self._values[slot] = index
        if 3 * self._used > 2 * len(self._keys):
            self._grow()

    def get(self, key: int) -> int | None:
        if not self._used:
            return None
        slot = self._slot(key)
        return self._values[slot] if self._keys[slot] == key else None

    def items(self) -> Iterator[tuple[int, int]]:
        for key, index in zip(self._keys, self._values, strict=True):
            if key:
                yield key, index

    def __len__(self) -> int:
        return self._used

    def _grow(self) -> None:
        keys, values = self._keys, self._values  # read as they are put (no list of a million)
        self.__init__(2 * len(keys))
        for key, index in zip(keys, values, strict=True):
            if key:
                self.set(key, index)


@dataclass
class FlowRunContext:
    """The flow run being executed: its record, its task runner and the futures it created.

    Memory stays flat however many task runs the flow makes: a finished task run leaves here
    only its final state and result, compact (see :mod:`runs.engine.finished`), and the engine
    keeps a future only while its run may be unfinished (a future the caller dropped goes once
    its run is final).
    """

    flow: Flow
    flow_run: FlowRunRecord
    task_runner: TaskRunner
    #: The futures of this attempt's submitted runs that may still be unfinished: the flow
    #: waits for them before it ends (finished ones are swept out, see :meth:`add_future`).
    futures: list[RunFuture] = field(default_factory=list)
    name_counters: dict[Any, int] = field(default_factory=dict)
    log_prints: bool = False
    #: The task runs this attempt of the flow run made (subflows' included), in call order,
    #: compact once final. A flow that returns None ends in the aggregate of their states, as
    #: in Prefect 2.
    task_runs: AttemptRuns = field(default_factory=AttemptRuns)
    #: id(result) -> (task run id, result), as ``runs.links`` keeps them; the links from the
    #: results of ``task_runs`` to their own runs are kept there, compact.
    results_by_id: dict[int, Any] = field(default_factory=dict)
    #: The completed task runs of earlier attempts by (code key, call number in the attempt): a
    #: retried flow run reuses them instead of running those calls again, as Prefect 2 does.
    reusable: dict[tuple[Any, int], TaskRunRecord] = field(default_factory=dict)
    attempt_counters: dict[Any, int] = field(default_factory=dict)
    #: Whether the flow run may be retried: only then are completed task runs kept whole (by
    #: reuse key) for the next attempt to reuse.
    retriable: bool = False
    _futures_added: int = field(default=0, repr=False)
    #: The completed records of this attempt by reuse key (``retriable`` flows only).
    _completed: dict[tuple[Any, int], TaskRunRecord] = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.task_runs.flow_run_id = self.flow_run.id

    def add_task_run(self, record: TaskRunRecord) -> int:
        """Count ``record`` among the task runs of this attempt; returns its index in call order."""
        with self._lock:
            runs = self.task_runs
            index = runs.add(record)
            if runs.added >= SWEEP_EVERY and runs.added >= runs.unswept() // 2:
                runs.sweep(self._completed if self.retriable else None)
            return index

    def add_future(self, future: RunFuture) -> None:
        """Keep ``future`` for the flow to wait on, while its run may be unfinished."""
        with self._lock:
            futures = self.futures
            futures.append(future)
            self._futures_added += 1
            if self._futures_added >= SWEEP_EVERY and self._futures_added >= len(futures) // 2:
                self._futures_added = 0
                self.futures = [f for f in futures if not f._settled()]

    def task_run_states(self) -> list[State]:
        """The current states of this attempt's task runs, in call order."""
        with self._lock:
            return self.task_runs.states()

    def kept_states(self) -> list[State]:
        """The states of this attempt's task runs that did not complete plainly (a plain
        Completed state is kept compact: runs.engine.finished)."""
        with self._lock:
            return list(self.task_runs.kept_states())

    def task_run_counts(self) -> tuple[Counter, int, AttemptRuns]:
        """(state type -> how many of this attempt's task runs are in it, how many have a state,
        the task runs themselves)."""
        with self._lock:
            counts, total = self.task_runs.type_counts()
            return counts, total, self.task_runs

    def compact_link(self, index: int, run_id: Any, result: Any) -> None:
        """Make the link ``runs.links.link_result`` just made from ``result`` to the run
        ``run_id``, at ``index`` of this attempt, whose result it is about to be, compact."""
        links = self.results_by_id
        key = id(result)
        with self._lock:
            known = links.get(key)
            if type(known) is tuple and known[1] is result and known[0] is run_id:
                del links[key]
                self.task_runs.link(key, index)

    def is_linked(self, run_id: Any, result: Any) -> bool:
        """Whether ``result`` is linked to the run ``run_id`` already."""
        return self.linked_run(result) == run_id

    def has_links(self) -> bool:
        """Whether any result of this flow run is linked to its run (see runs.links)."""
        return bool(self.results_by_id) or self.task_runs.has_links()

    def linked_run(self, value: Any) -> Any:
        """The id of the task run of this flow run that ``value`` came from, or None."""
        with self._lock:
            return self.task_runs.linked_run(self.results_by_id, value)

    def start_attempt(self) -> None:
        """A new attempt of the flow run begins: what completed in the last one is reusable."""
        with self._lock:
            runs = self.task_runs
            if self.retriable:
                runs.sweep(self._completed)
                for record in runs.records():
                    state = record.state
                    if record.reuse_key is not None and state and state.is_completed():
                        self._completed[record.reuse_key] = record
                self.reusable.update(self._completed)
                self._completed.clear()
            if len(runs):
                runs.unpack_links(self.results_by_id)
                # A new list: the states of the last attempt stay what its flow state holds.
                self.task_runs = AttemptRuns(self.flow_run.id)
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
