"""States of flow runs and task runs: small value objects, no Django.

A state has a type (what the engine acts on) and a name (what a person reads):
``Cached`` is a COMPLETED state, ``TimedOut`` a FAILED one, ``AwaitingRetry`` a SCHEDULED one.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, replace
from typing import Any

from runs.exceptions import CancelledRun, CrashedRun, FailedRun, MissingResult, UnfinishedRun


class StateType(enum.StrEnum):
    """The kind of a state; the engine's decisions depend on it, not on the name."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value


FINAL_TYPES = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
)

#: The name of every state `runs` writes, with its type.
STATE_NAMES: dict[str, StateType] = {
    "Scheduled": StateType.SCHEDULED,
    "AwaitingRetry": StateType.SCHEDULED,
    "Pending": StateType.PENDING,
    "AwaitingConcurrencySlot": StateType.PENDING,
    "Running": StateType.RUNNING,
    "Retrying": StateType.RUNNING,
    "Completed": StateType.COMPLETED,
    "Cached": StateType.COMPLETED,
    "Failed": StateType.FAILED,
    "TimedOut": StateType.FAILED,
    "Aborted": StateType.FAILED,
    "UpstreamFailed": StateType.FAILED,
    "Crashed": StateType.CRASHED,
    "Cancelled": StateType.CANCELLED,
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_NO_RESULT = object()


@dataclass
class State:
    """One state of a run. ``data`` holds the result (or the exception) when this process has it."""

    type: StateType
    name: str = ""
    message: str = ""
    timestamp: dt.datetime = field(default_factory=now)
    data: Any = field(default=_NO_RESULT, repr=False, compare=False)
    result_key: str = ""
    cache_key: str | None = None
    cache_expiration: dt.datetime | None = None
    scheduled_time: dt.datetime | None = None
    #: The run this state belongs to, when the engine returned it.
    task_run_id: Any = field(default=None, repr=False, compare=False)
    flow_run_id: Any = field(default=None, repr=False, compare=False)
    run_name: str = field(default="", repr=False, compare=False)
    #: Called with the result when it is loaded from the result store (a run of another
    #: process), to link it to its run in the flow that reads it.
    on_load: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.type, StateType):
            self.type = StateType(self.type)
        if not self.name:
            self.name = self.type.value.capitalize()

    # ---- questions -------------------------------------------------------------------------
    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_final(self) -> bool:
        return self.type in FINAL_TYPES

    @property
    def has_data(self) -> bool:
        return self.data is not _NO_RESULT

    # ---- results ---------------------------------------------------------------------------
    def result(self, raise_on_failure: bool = True, fetch: bool = True) -> Any:
        """The run's return value; for a failed or crashed run, raise its exception.

        With ``raise_on_failure=False`` the exception is returned instead of raised (the
        states, for a flow that returned states).
        """
        if not self.has_data and self.result_key and fetch:
            from runs.results import load_result

            self.data = load_result(self.result_key)
            if self.on_load is not None and self.type is StateType.COMPLETED:
                self.on_load(self.data)
        if self.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
            if not raise_on_failure and self.has_data and not isinstance(self.data, BaseException):
                return self.data  # what a state made by hand holds, or returned states
            exc = _inner_exception(self.data) or _exception_for(self)
            if raise_on_failure:
                raise exc
            return exc
        if self.type is not StateType.COMPLETED:
            raise UnfinishedRun(
                f"The run is in state {self.name} ({self.type.value}); it has no result yet. "
                "Wait for it to finish, e.g. future.wait() or future.result()."
            )
        if not self.has_data:
            raise MissingResult(
                "This state's result was not persisted. Set persist_result=True on the task "
                "or flow to read results from another process."
            )
        return self.data

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without ``on_load``, which belongs to the process that read the state."""
        return {**self.__dict__, "on_load": None}

    def __await__(self):
        """``await task.submit(..., return_state=True)`` (Prefect 2's async style) gives the
        state itself."""
        return self
        yield  # pragma: no cover  (makes this a generator)

    def __hash__(self) -> int:  # states can be kept in sets, as in Prefect 2
        return hash((self.type, self.timestamp))

    def copy(self, **changes: Any) -> State:
        return replace(self, **changes)

    def __repr__(self) -> str:
        message = f", message={self.message!r}" if self.message else ""
        return f"{self.name}(type={self.type.value}{message})"


def is_state_collection(value: Any) -> bool:
    """A non-empty list, tuple or set of States only (what a flow that returned states holds)."""
    return (
        isinstance(value, list | tuple | set)
        and bool(value)
        and all(isinstance(v, State) for v in value)
    )


def _inner_exception(data: Any) -> BaseException | None:
    """The exception a failed state's data holds: itself, or that of the returned state or of
    the first returned state that did not complete (a flow that returned states), as in
    Prefect 2."""
    if isinstance(data, BaseException):
        return data
    if isinstance(data, State):
        return data.result(raise_on_failure=False) if not data.is_completed() else None
    if is_state_collection(data):
        for inner in data:
            if inner.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
                return inner.result(raise_on_failure=False)
    return None


def _exception_for(state: State) -> BaseException:
    if state.type is StateType.CANCELLED:
        return CancelledRun(state.message or "The run was cancelled.")
    if state.type is StateType.CRASHED:
        return CrashedRun(state.message or "The run crashed.")
    return FailedRun(state.message or f"The run ended in state {state.name}.")


def _constructor(type_: StateType, default_name: str):
    def build(message: str = "", *, name: str | None = None, **kwargs: Any) -> State:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A state's name must be a string; got {name!r}.")
        return State(type=type_, name=name or default_name, message=message, **kwargs)

    build.__name__ = default_name
    build.__qualname__ = default_name
    build.__doc__ = (
        f"A {type_.value} state, named {default_name} unless ``name=`` says otherwise "
        f'(``{default_name}(name="...", message="...")``, as in Prefect 2).'
    )
    return build


Scheduled = _constructor(StateType.SCHEDULED, "Scheduled")
AwaitingRetry = _constructor(StateType.SCHEDULED, "AwaitingRetry")
Pending = _constructor(StateType.PENDING, "Pending")
AwaitingConcurrencySlot = _constructor(StateType.PENDING, "AwaitingConcurrencySlot")
Running = _constructor(StateType.RUNNING, "Running")
Retrying = _constructor(StateType.RUNNING, "Retrying")
Completed = _constructor(StateType.COMPLETED, "Completed")
Cached = _constructor(StateType.COMPLETED, "Cached")
Failed = _constructor(StateType.FAILED, "Failed")
TimedOut = _constructor(StateType.FAILED, "TimedOut")
Aborted = _constructor(StateType.FAILED, "Aborted")
UpstreamFailed = _constructor(StateType.FAILED, "UpstreamFailed")
Crashed = _constructor(StateType.CRASHED, "Crashed")
Cancelled = _constructor(StateType.CANCELLED, "Cancelled")

__all__ = [
    "State",
    "StateType",
    "FINAL_TYPES",
    "STATE_NAMES",
    "Scheduled",
    "AwaitingRetry",
    "Pending",
    "AwaitingConcurrencySlot",
    "Running",
    "Retrying",
    "Completed",
    "Cached",
    "Failed",
    "TimedOut",
    "Aborted",
    "UpstreamFailed",
    "Crashed",
    "Cancelled",
    "FailedRun",
    "CrashedRun",
    "CancelledRun",
    "MissingResult",
    "UnfinishedRun",
]
