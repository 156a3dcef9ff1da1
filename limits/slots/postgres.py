"""Slots in PostgreSQL: row locks in tag order, one round trip in the common case.

The limit rows of the run's tags are locked with ``SELECT ... FOR UPDATE``, always in tag
order, so two runs wanting [a, b] and [b, a] queue on ``a`` instead of deadlocking. The slots
are counted in a *later* statement: under READ COMMITTED a statement that waited for a row lock
keeps the snapshot it started with and would miss the slot the lock holder just took. The
common case (room in every limit, nobody queued) is the stored function
``limits_take_free_slots`` (migration 0003): lock, then count-and-insert, in one round trip,
each statement with a fresh snapshot. Anything else (a full limit, a queue, a limit of 0) takes
the careful path in a transaction that holds the same locks.

A release takes no limit lock: deleting one's own slot can only make room, and a concurrent
acquirer that counted it waits and is woken by the NOTIFY, sent when the release commits. A
release deferred into the stored function (:mod:`runs_limits.slots.deferred`) is different: it
locks the freed slots' limits with the ones it takes, so any run that queued on them has
committed its waiter row, and sends the NOTIFY only when there is such a waiter.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction

from runs.states import now
from runs_limits.slots import decisions
from runs_limits.slots.decisions import SlotDecision
from runs_limits.slots.deferred import DeferredReleases
from runs_limits.slots.store import SlotStore
from runs_limits.slots.wakeups import NOTIFY_CHANNEL, WANTED_CHANNEL, Listener, Wakeups

logger = logging.getLogger("runs.limits")


def separate_connection(autocommit: bool = True) -> Any:
    """A psycopg connection of its own to Django's database, outside Django's connection
    handling (the listener's, and a test's "other process")."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=autocommit)


@contextlib.contextmanager
def _nothing() -> Iterator[list]:
    yield []


def _async_commit() -> str:
    """A select-list item that lets a slot's own transaction commit without waiting for the
    WAL to reach the disk (a fifth of a millisecond here).

    Only for a transaction of the slot's own: the caller's transactions keep their
    durability. Other sessions see the slot at commit as always; only a crash of the database
    server itself could lose the last fraction of a second of slot changes, and they are
    rebuilt from what survives (a slot whose run ended, or whose owner died, is reclaimed).
    """
    if connection.in_atomic_block:
        return ""
    return ", set_config('synchronous_commit', 'off', true)"


class PostgresStore(SlotStore):
    """Slots under row locks; waiters of other processes woken by LISTEN/NOTIFY."""

    vendor = "postgresql"

    def __init__(self, wakeups: Wakeups, deferred: DeferredReleases) -> None:
        super().__init__(wakeups, deferred)
        # Set by a release whose statement sent the NOTIFY itself, so that the notify_released
        # after its commit sends none.
        self._notified = threading.local()
        self.listener = Listener(
            wakeups,
            connect=separate_connection,
            on_wanted=deferred.contended,
            after_read=self._free_held_back,
            tick=self._tick,
        )

    def start_listener(self) -> bool:
        """Start the thread that hears other processes' releases and frees deferred ones."""
        return self.listener.ensure()

    def _before_deciding(self, tags: list[str]) -> SlotDecision | None:
        self.listener.ensure()  # listening before deciding, so no NOTIFY after it is missed
        return None

    def _take_free_slots(self, tags: list[str], run_param: Any, owner: str) -> SlotDecision | None:
        if not self.deferred.may_defer(tags):
            # Somebody waits for these tags: the function would find them queued and answer
            # "busy", after queueing on the same locks the careful path takes next.
            return None
        # Deferred releases ride along, unless a caller's transaction could still roll back.
        with self.deferred.taken() if not connection.in_atomic_block else _nothing() as freeing:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT limits_take_free_slots(%s, %s, %s, %s, %s){_async_commit()}",
                    [tags, run_param, owner, now(), freeing],
                )
                status = cursor.fetchone()[0]
        if status == "acquired":
            self.deferred.uncontended(tags)  # nobody queued for them just now
        # "busy": the careful path decides (the function does not queue).
        return None if status == "busy" else decisions.from_status(status)

    def _lock_limits(self, cursor: Any, tags: list[str]) -> None:
        # Lock first, count after (see the module's docstring).
        marks = ", ".join(["%s"] * len(tags))
        cursor.execute(
            f"SELECT id FROM {self.limits_table} WHERE tag IN ({marks}) ORDER BY tag FOR UPDATE",
            tags,
        )

    def _take_slots(
        self, cursor: Any, limit_ids: list, run_param: Any, owner: str, *, leave_queues: bool
    ) -> None:
        if not leave_queues:
            self._insert_slots(cursor, limit_ids, run_param, owner)
            return
        # One round trip while the limits' locks are held: take the slots, leave the queues.
        marks = ", ".join(["(%s::uuid, %s::uuid, %s, %s)"] * len(limit_ids))
        acquired = now()
        cursor.execute(
            f"WITH taken AS (INSERT INTO {self.slots_table} (limit_id, task_run_id, acquired, "
            f"owner) VALUES {marks}) DELETE FROM {self.waiters_table} WHERE task_run_id = %s",
            [
                *(
                    value
                    for limit_id in limit_ids
                    for value in (limit_id, run_param, acquired, owner)
                ),
                run_param,
            ],
        )

    def _announce_wanted(self, cursor: Any, tags: list[str]) -> None:
        for tag in tags:  # holders elsewhere: free them at once
            cursor.execute(f"SELECT pg_notify('{WANTED_CHANNEL}', %s)", [tag])

    def _release(self, run_param: Any, tags: Iterable[str] | None) -> list[str]:
        if tags is not None and self._may_defer(tags):
            if connection.in_atomic_block:
                # The run's final state is written in this transaction: held back only once
                # it commits (a rollback keeps the slot, reclaimed once the run has ended).
                transaction.on_commit(lambda: self.deferred.defer([run_param]))
            else:
                self.deferred.defer([run_param])
            return []
        with connection.cursor() as cursor:
            freed = self._free(cursor, [run_param], async_commit=_async_commit())
        if freed:
            self._notified.done = True
        return freed

    def _may_defer(self, tags: Iterable[str]) -> bool:
        return self.listener.is_alive() and self.deferred.may_defer(tags)

    def _notify_others(self, after_release: bool) -> None:
        sent_by_release = after_release and self._notified.__dict__.pop("done", False)
        if sent_by_release:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")
        except Exception:  # waking others is best effort: they poll too
            logger.debug("NOTIFY failed", exc_info=True)

    def release_deferred(self) -> None:
        """Free now the slots whose release this process deferred, and wait for those another
        thread of it is freeing."""
        if self.deferred.pending:
            with connection.cursor() as cursor:
                self.deferred.free_with(lambda runs: self._free(cursor, runs))
        self.deferred.wait_settled()

    def _free(self, cursor: Any, run_params: list, async_commit: str = "") -> list[str]:
        """One round trip: free the slots of ``run_params`` and take them out of wait queues;
        the tags freed. The NOTIFY that wakes waiters goes out when the transaction commits."""
        cursor.execute(
            f"WITH freed AS (DELETE FROM {self.slots_table} WHERE task_run_id = ANY(%s) "
            f"RETURNING limit_id), left_queue AS (DELETE FROM {self.waiters_table} "
            f"WHERE task_run_id = ANY(%s) RETURNING 1) "
            f"SELECT l.tag, pg_notify('{NOTIFY_CHANNEL}', ''){async_commit} FROM freed "
            f"JOIN {self.limits_table} l ON l.id = freed.limit_id",
            [run_params, run_params],
        )
        return [row[0] for row in cursor.fetchall()]

    def _tick(self) -> float:
        return min(self.deferred.max_delay / 2, 0.05)

    def _free_held_back(self, listen_connection: Any, wanted: bool) -> None:
        """The listener's housekeeping: free deferred releases soon, or at once when wanted."""
        if not self.deferred.due(wanted):
            return
        try:
            self.deferred.free_with(lambda runs: self._free(listen_connection.cursor(), runs))
        except Exception:  # they stay deferred; the thread must go on listening
            if listen_connection.closed:
                raise
            logger.warning("Could not free deferred slots yet", exc_info=True)
