"""The attempt loop of every run, task or flow, sync or async: written once, driven twice.

:func:`attempt_steps` is a generator that says what to do next (propose Running, wait for a
slot, execute, propose the outcome, sleep until a retry, finish) and is sent each step's
answer; :func:`drive_sync` and :func:`drive_async` carry the steps out on an engine (a
:class:`AttemptRun`). Whether a failed attempt is retried is not decided here: orchestration's
retry rule answers the proposed outcome with AwaitingRetry, and the loop sleeps until then.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runs.states import Retrying, Running, State, StateType, now

if TYPE_CHECKING:
    from runs.engine.timeouts import Deadline
    from runs.orchestration.records import RunRecord


class Deferred(Exception):
    """Raised by a slot waiter to stop driving a run that will be driven again later, such as
    a Celery worker re-queueing a run that waits for a concurrency slot."""


class Step(enum.Enum):
    PREPARE = "prepare"  # once, before the first attempt: a state here ends the run
    PROPOSE = "propose"  # propose the state: Running or Retrying
    WAIT_FOR_SLOT = "wait_for_slot"  # the proposal came back Pending: wait, then propose again
    EXECUTE = "execute"  # call the function: the outcome to propose
    CONCLUDE = "conclude"  # propose the outcome: final, or AwaitingRetry from the retry rule
    SLEEP = "sleep"  # seconds until the retry is due
    FINISH = "finish"  # the run's final state: tidy up, and it is what the run returns


# Module-level names: an enum member's lookup on its class costs more than a global's.
PREPARE, PROPOSE, WAIT_FOR_SLOT, EXECUTE, CONCLUDE, SLEEP, FINISH = Step


@dataclass(frozen=True, slots=True)
class AlreadyDecided:
    """An outcome orchestration has decided already (TimedOut proposed by a watchdog)."""

    state: State


def stuck_reporter(
    record: RunRecord, propose: Callable[[State], State], outcome: Callable[[], State]
) -> Callable[[], State | None]:
    """The ``on_stuck`` of one attempt's deadline: propose ``outcome()`` (TimedOut) for a thread
    still stuck after its deadline, unless the run's own thread has moved on meanwhile (it left
    the attempt just as the watchdog fired): then nothing is proposed, and None is answered."""
    attempt = record.run_count

    def report() -> State | None:
        with record.lock:  # the run's own proposals wait, or are seen
            if record.run_count != attempt or not record.state.is_running():
                return None
            return propose(outcome())

    return report


def decided_by_watchdog(deadline: Deadline | None) -> AlreadyDecided | None:
    """What a watchdog proposed for a run whose thread was stuck past its deadline, if it did."""
    if deadline is not None and deadline.decided is not None:
        return AlreadyDecided(deadline.decided)
    return None


class AttemptRun(Protocol):
    """What the drivers need of an engine."""

    record: RunRecord
    #: Whether ``prepare`` and ``finish`` may block (the async driver then calls them in a
    #: thread).
    prepare_blocks: bool
    finish_blocks: bool

    def prepare(self) -> State | None: ...
    def propose(self, state: State) -> State: ...
    def wait_for_slot(self) -> None: ...
    def execute_sync(self) -> State | AlreadyDecided: ...
    async def execute_async(self) -> State | AlreadyDecided: ...
    def conclude(self, outcome: State) -> State: ...
    def finish(self, state: State) -> State: ...
    def crash(self, exc: BaseException) -> None: ...


#: A slot waiter: called with the run's record when a proposal of Running came back Pending;
#: it returns once a slot may be free, or raises :class:`Deferred`.
SlotWaiter = Callable[["RunRecord"], None]


def attempt_steps(record: RunRecord) -> Generator[tuple[Step, Any], Any, State]:
    """The steps that take ``record`` from Pending to a final state, the same for every run.

    Each ``(step, argument)`` yielded is answered by :meth:`generator.send`: PREPARE and
    FINISH with a state or None, PROPOSE and CONCLUDE with the state accepted, EXECUTE with
    the attempt's outcome, the others with None. Returns the final state.
    """
    state = yield PREPARE, None
    while state is None:
        running = Retrying() if record.run_count > 0 else Running()
        accepted = yield PROPOSE, running
        if accepted.type is StateType.PENDING:
            yield WAIT_FOR_SLOT, None
            continue
        if not accepted.is_running():
            state = accepted  # answered without running: cached, cancelled, aborted
            break
        outcome = yield EXECUTE, None
        if isinstance(outcome, AlreadyDecided):
            accepted = outcome.state
        else:
            accepted = yield CONCLUDE, outcome
        if accepted.is_scheduled():
            yield SLEEP, _seconds_until(accepted)
            continue
        state = accepted
    return (yield FINISH, state)


def _seconds_until(state: State) -> float:
    if state.scheduled_time is None:
        return 0.0
    return max((state.scheduled_time - now()).total_seconds(), 0.0)


def drive_sync(run: AttemptRun) -> State:
    """Carry out the steps of ``run`` in this thread; a crash is proposed, then re-raised."""
    steps = attempt_steps(run.record)
    answer: Any = None
    try:
        while True:
            try:
                step, argument = steps.send(answer)
            except StopIteration as stop:
                return stop.value
            if step is EXECUTE:
                answer = run.execute_sync()
            elif step is PROPOSE:
                answer = run.propose(argument)
            elif step is CONCLUDE:
                answer = run.conclude(argument)
            elif step is PREPARE:
                answer = run.prepare()
            elif step is FINISH:
                answer = run.finish(argument)
            elif step is WAIT_FOR_SLOT:
                answer = run.wait_for_slot()
            else:
                answer = time.sleep(argument)
    except Deferred:
        raise  # the run stays as recorded; whoever deferred it drives it again later
    except BaseException as exc:
        if not run.record.is_final():
            run.crash(exc)
        raise


async def drive_async(run: AttemptRun) -> State:
    """Carry out the steps of ``run`` on the running event loop; what may block (the database,
    a slot wait) runs in a thread."""
    steps = attempt_steps(run.record)
    answer: Any = None
    to_thread = asyncio.to_thread
    try:
        while True:
            try:
                step, argument = steps.send(answer)
            except StopIteration as stop:
                return stop.value
            if step is EXECUTE:
                answer = await run.execute_async()
            elif step is PROPOSE:
                answer = await to_thread(run.propose, argument)
            elif step is CONCLUDE:
                answer = await to_thread(run.conclude, argument)
            elif step is PREPARE:
                answer = await to_thread(run.prepare) if run.prepare_blocks else run.prepare()
            elif step is FINISH:
                answer = (
                    await to_thread(run.finish, argument)
                    if run.finish_blocks
                    else run.finish(argument)
                )
            elif step is WAIT_FOR_SLOT:
                answer = await to_thread(run.wait_for_slot)
            else:
                answer = await asyncio.sleep(argument)
    except Deferred:
        raise
    except BaseException as exc:
        if not run.record.is_final():
            await to_thread(run.crash, exc)
        raise
