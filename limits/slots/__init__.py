"""Concurrency slots: acquired all at once or not at all, served first come first served, freed
on exit.

The functions here are what orchestration, the engines and the heartbeat call. Behind them,
each room does one job:

- :mod:`~runs_limits.slots.queue_order`: who is blocked and who is first in line, over plain data;
- :mod:`~runs_limits.slots.store` and one store per database (:mod:`~runs_limits.slots.sqlite`,
  :mod:`~runs_limits.slots.postgres`): the statements, and how each database keeps slots exact;
- :mod:`~runs_limits.slots.wakeups`: waking waiters, in this process and in others;
- :mod:`~runs_limits.slots.deferred`: on PostgreSQL, a finished run's slot freed with the next
  statement rather than by one of its own;
- :mod:`~runs_limits.slots.process`: this process's state, one object, reset in a forked child.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from runs_limits.slots.decisions import UNLIMITED, SlotDecision
from runs_limits.slots.postgres import separate_connection
from runs_limits.slots.process import this_process
from runs_limits.slots.wakeups import NOTIFY_CHANNEL, WANTED_CHANNEL

# The PostgreSQL channels, under the names tests listen on.
_NOTIFY_CHANNEL = NOTIFY_CHANNEL
_WANTED_CHANNEL = WANTED_CHANNEL

# Also DEFERRED_RELEASE_SECONDS and POLL_SECONDS, read and set through _SlotsModule below.
__all__ = [
    "SlotDecision",
    "acquire",
    "any_limited",
    "may_go_now",
    "notify_released",
    "on_slot_freed",
    "reclaim_dead_slots",
    "release",
    "release_deferred",
    "separate_connection",
    "start_listener",
    "wait_for_slot",
]


def any_limited(tags: Iterable[str]) -> bool:
    """Whether any of ``tags`` has a limit (no query for an empty list)."""
    tags = list(tags)
    if not tags:
        return False
    return this_process.store().any_limited(tags)


def acquire(
    task_run_id: Any, tags: Iterable[str], owner: str | None = None, queued: bool = False
) -> SlotDecision:
    """A slot of every limited tag of the run, or none, for the process ``owner`` (this one).
    ``queued``: the run is known to wait in line already (it was told to wait before).

    Atomic by itself: in the caller's transaction if there is one, else in its own. Returns
    ``acquired``, ``wait`` (naming the blocking tag), ``abort`` (a limit of 0) or ``unlimited``
    (no tag has a limit). The common case (room in every limit, nobody queued) is one round
    trip on PostgreSQL and one short write transaction on SQLite; reclaiming dead slots
    happens only when a limit looks full.
    """
    from runs.owners import current_owner

    tags = sorted(set(tags))
    if not tags:
        return UNLIMITED
    return this_process.store().acquire(task_run_id, tags, owner or current_owner(), queued)


def may_go_now(task_run_ids: Iterable[Any]) -> list:
    """Of these queued task runs, those that would take their slots if they asked now: first
    in line on every limit they are queued on, within its free slots; earliest queued first.
    Runs queued nowhere are left out."""
    return this_process.store().may_go_now(list(task_run_ids))


def release(task_run_id: Any, tags: Iterable[str] | None = None) -> list[str]:
    """Free the run's slots and take it out of wait queues; the tags freed.

    Atomic by itself: in the caller's transaction if there is one, else in its own. On
    PostgreSQL, when the run's ``tags`` are given and nobody is known to wait for any of them,
    the release is deferred instead (see :func:`release_deferred`) and nothing is returned:
    it then costs no round trip of its own, and the slot stays counted a little longer, which
    can make a newcomer wait but never lets too many in.
    """
    return this_process.store().release(task_run_id, tags)


def release_deferred() -> None:
    """Free now the slots whose release this process deferred (PostgreSQL; at the end of a
    flow run, so that it ends with its slots given back, and at exit)."""
    if this_process.deferred.pending or this_process.deferred.in_flight:
        this_process.store().release_deferred()


def notify_released(tags: Iterable[str] = ()) -> None:
    """After commit: wake the waiters of this process now, and those of other processes."""
    this_process.store().notify_released(tags)


def wait_for_slot(task_run_id: Any, tags: Iterable[str], timeout: float) -> None:
    """Sleep until a slot may have been freed, at most ``timeout`` seconds."""
    this_process.store().wait_for_slot(task_run_id, timeout)


def on_slot_freed(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever a slot may have been freed: by a run of this process, or
    (PostgreSQL, once the listener runs) of another. It runs in the thread that heard it, so
    it must be quick (set an event). On SQLite, releases by other processes are not heard."""
    this_process.wakeups.on_wake(callback)


def start_listener() -> bool:
    """Start hearing other processes' releases (PostgreSQL: a LISTEN thread, which also frees
    deferred releases), if not yet; whether this process hears them (False on SQLite: its
    waiters poll). Started on first need anyway; a process runtime may start it earlier."""
    return this_process.store().start_listener()


def reclaim_dead_slots() -> int:
    """Free every slot whose run ended or whose owner died, and drop such runs from wait
    queues (the runs behind them move up); the number of slots freed."""
    return this_process.store().reclaim_dead_slots()


class _SlotsModule(types.ModuleType):
    """The tunables and the wake-up generation live in this process's objects; these names
    read and set them there (tests shorten or lengthen the delays)."""

    @property
    def POLL_SECONDS(self) -> float:
        """How often a waiter looks again when nothing can wake it from another process."""
        return this_process.wakeups.poll_seconds

    @POLL_SECONDS.setter
    def POLL_SECONDS(self, seconds: float) -> None:
        this_process.wakeups.poll_seconds = seconds

    @property
    def DEFERRED_RELEASE_SECONDS(self) -> float:
        """PostgreSQL: the longest a slot stays held after its run ended when nobody waits."""
        return this_process.deferred.max_delay

    @DEFERRED_RELEASE_SECONDS.setter
    def DEFERRED_RELEASE_SECONDS(self, seconds: float) -> None:
        this_process.deferred.max_delay = seconds

    @property
    def _generation(self) -> int:
        return this_process.wakeups.generation


sys.modules[__name__].__class__ = _SlotsModule
