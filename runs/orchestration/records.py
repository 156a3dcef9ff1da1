"""In-memory records of the runs this process executes; the orchestration keeps them and their rows in step."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runs.states import State, now

if TYPE_CHECKING:
    from runs.retries import RetryOptions

#: Ids made ahead, from one read of the system's random source per batch.
_ID_BATCH = 256
_ids: deque[uuid.UUID] = deque()
#: The version and variant bits, and those of version 7 (time-ordered, RFC 9562) with the
#: RFC 4122 variant.
_ID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_ID_SET = (0x8000 << 48) | (7 << 76)
_RANDOM_BITS = (1 << 80) - 1


def new_id() -> uuid.UUID:
    """A time-ordered (version 7) UUID: the Unix time in milliseconds, then 74 random bits,
    made 256 at a time from one read of the system's random source.

    Time-ordered, a run's rows go in at the end of the indexes keyed by run id (the primary
    keys, a task run's states) instead of at random places: a history of millions of runs
    then stays as fast to write as a small one, the pages written being those in memory.
    ``os.urandom`` lets go of the GIL, and once per run that handed the write-behind thread
    the interpreter in the middle of every task run. Thread-safe (``deque.popleft`` is
    atomic); a forked child starts a batch of its own (no id is ever made in two processes)."""
    try:
        return _ids.popleft()
    except IndexError:
        pass
    raw = os.urandom(16 * _ID_BATCH)
    stamp = (time.time_ns() // 1_000_000) << 80
    made = [
        uuid.UUID(
            int=(stamp | int.from_bytes(raw[i : i + 16], "big") & _RANDOM_BITS) & _ID_CLEAR
            | _ID_SET
        )
        for i in range(0, len(raw), 16)
    ]
    made.sort()  # in order within the millisecond too
    _ids.extend(made[1:])
    return made[0]


os.register_at_fork(after_in_child=_ids.clear)

_events_lock = threading.Lock()


class FinalEvent:
    """``threading.Event`` for a run's final state (``is_set``, ``set``, ``wait``, ``clear``),
    made without a Condition and its locks until a thread actually waits: most runs are final
    before anyone waits (a direct call, a swept run), and every run has one."""

    __slots__ = ("_flag", "_event")

    def __init__(self) -> None:
        self._flag = False
        self._event: threading.Event | None = None

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        with _events_lock:
            self._flag = True
            event = self._event
        if event is not None:
            event.set()

    def clear(self) -> None:
        with _events_lock:
            self._flag = False
            if self._event is not None:
                self._event.clear()

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        with _events_lock:
            if self._flag:
                return True
            event = self._event
            if event is None:
                event = self._event = threading.Event()
        return event.wait(timeout)


@dataclass(eq=False)
class RunRecord:
    """What a flow run and a task run share; ``state`` is the current, accepted state."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    id: uuid.UUID = field(default_factory=new_id)
    created: dt.datetime = field(default_factory=now)
    state: State | None = None
    run_count: int = 0
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    owner: str = ""
    #: The ``version=`` of the task or flow that made the run.
    version: str | None = None
    result_key: str = ""
    #: True when every transition must reach the database before the engine goes on
    #: (runs other processes wait on: Celery task runs, flow runs started by id).
    sync: bool = False
    persisted: bool = False
    #: How the run is retried when it fails (set by the engine that drives it; None: never).
    retry_options: RetryOptions | None = field(default=None, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    final_event: FinalEvent = field(default_factory=FinalEvent, repr=False)
    on_final: list[Callable[[State], None]] = field(default_factory=list, repr=False)
    #: Set once the state hooks of the final state have run, for a run whose hooks run in this
    #: process (None otherwise): a future's wait() waits for them too, as in Prefect 2.
    hooks_done: threading.Event | None = field(default=None, repr=False)

    def is_final(self) -> bool:
        return self.state is not None and self.state.is_final()

    def settle(self, state: State) -> None:
        """Take the final ``state`` and wake whoever waits for this run (once)."""
        with self.lock:
            if self.final_event.is_set():
                return
            self.state = state
            self.final_event.set()
            callbacks, self.on_final = self.on_final, []
            for callback in callbacks:
                callback(state)


@dataclass(eq=False)
class TaskRunRecord(RunRecord):
    flow_run_id: uuid.UUID | None = None
    task_key: str = ""
    task_name: str = ""
    map_index: int = -1
    cache_key: str | None = None
    cache_expiration: dt.datetime | None = None
    refresh_cache: bool = False
    #: (upstream task run id, parameter name or "" for wait_for)
    upstream: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    #: Whether any tag has a concurrency limit (None: not looked up yet).
    limited: bool | None = None
    holds_slots: bool = False
    #: (code key, call number) within its flow run's attempt (runs.context.next_call_key).
    reuse_key: Any = None
    flow_run: FlowRunRecord | None = field(default=None, repr=False)
    #: Where the run stands among its flow run attempt's task runs (runs.context.AttemptRuns).
    call_index: int = field(default=-1, repr=False)


@dataclass(eq=False)
class FlowRunRecord(RunRecord):
    #: Random, not time-ordered: people name a flow run by the first characters of its id
    #: (``runs flow-run inspect 3f2a9c``), which time-ordered ids made in the same minute share.
    #: Flow runs are few; the index locality of time-ordered ids matters for task runs.
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    flow_id: int | None = None
    flow_name: str = ""
    parent_task_run_id: uuid.UUID | None = None
    rerun_of_id: uuid.UUID | None = None
    deployment_id: int | None = None
    #: The work queue that starts it (a run started by id: a form, the API, a deployment).
    work_queue_id: int | None = None
    #: When it is meant to start (a queued run waits for this time and for room in its queue).
    expected_start_time: dt.datetime | None = None
    #: When its queue gave it a place (set as it is made, when its queue had room at once).
    dispatched_at: dt.datetime | None = None
    cancel_requested: bool = False
    #: Made from its row to be driven by id (a worker, a service): other processes can end it
    #: too, so its final state is looked up in the database (see orchestration.rules).
    by_id: bool = False
