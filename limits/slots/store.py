"""The store of slots: what every database does alike, and the steps each does its own way.

A slot is a row naming its limit, its task run and its owner: the process running the task
run. Slots are taken and freed in transactions of their own, apart from the run's state rows
(those go through the write-behind buffer), so that a limited run costs one or two short round
trips more than an unlimited one; a slot is held while its owner lives (:mod:`runs.owners`) and
its run has not ended, and any other slot is reclaimed before a run is told to wait.

:class:`SlotStore` is the one interface the public functions of :mod:`runs_limits.slots` call. Its
careful path (count, reclaim, queue, abort or take, in one transaction) is shared; each
database's store says how it locks, how it takes free slots fast, how it frees and how it
tells other processes (:mod:`runs_limits.slots.sqlite`, :mod:`runs_limits.slots.postgres`).
"""

from __future__ import annotations

import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from runs.states import now
from runs_limits.slots import decisions, queue_order
from runs_limits.slots.decisions import ACQUIRED, UNLIMITED, SlotDecision
from runs_limits.slots.deferred import DeferredReleases
from runs_limits.slots.queue_order import Blocking, Limit, Load, Waiter
from runs_limits.slots.wakeups import Wakeups

#: The least time between two looks, by this process, for the dead waiters of a limit before a
#: run is told to wait on it (the heartbeat's reaper looks too, every few seconds).
RECLAIM_SECONDS = 1.0


class SlotStore(ABC):
    """Slots in one database, for this process (its wake-ups and deferred releases)."""

    vendor: str

    def __init__(self, wakeups: Wakeups, deferred: DeferredReleases) -> None:
        from runs_limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter

        self.wakeups = wakeups
        self.deferred = deferred
        q = connection.ops.quote_name
        self.limits_table = q(ConcurrencyLimit._meta.db_table)
        self.slots_table = q(ConcurrencySlot._meta.db_table)
        self.waiters_table = q(SlotWaiter._meta.db_table)
        self._run_field = ConcurrencySlot._meta.get_field("task_run")
        self._limit_field = ConcurrencyLimit._meta.get_field("id")
        self._reclaimed: dict[str, float] = {}  # limit id -> when this process last looked
        # tags -> (when a run of this process was last told to wait on them, their limit ids)
        self._full: dict[tuple, tuple[float, list]] = {}
        self._reclaimed_lock = threading.Lock()

    # ---- what each database does its own way ---------------------------------------------------
    @abstractmethod
    def _before_deciding(self, tags: list[str]) -> SlotDecision | None:
        """A step before any decision; an answer that ends it (e.g. unlimited), else None."""

    @abstractmethod
    def _take_free_slots(self, tags: list[str], run_param: Any, owner: str) -> SlotDecision | None:
        """The fast path of a run not queued here: its answer, or None for the careful path."""

    @abstractmethod
    def _lock_limits(self, cursor: Any, tags: list[str]) -> None:
        """Inside the careful path's transaction, before counting: lock the limits of ``tags``."""

    @abstractmethod
    def _announce_wanted(self, cursor: Any, tags: list[str]) -> None:
        """A run was queued on these tags: tell the processes that hold their slots."""

    @abstractmethod
    def _release(self, run_param: Any, tags: Iterable[str] | None) -> list[str]:
        """Free the run's slots and take it out of wait queues (or defer it); the tags freed."""

    @abstractmethod
    def _notify_others(self, after_release: bool) -> None:
        """Wake the waiters of other processes (best effort: they poll too)."""

    def start_listener(self) -> bool:
        """Start hearing other processes' releases, if this database can; whether it does."""
        return False

    def release_deferred(self) -> None:
        """Free now the releases this process held back (none, unless the store defers)."""
        return None

    # ---- the interface ---------------------------------------------------------------------------
    def _limit_param(self, limit_id: str) -> Any:
        """A limit id (as a string) as this database takes it in a raw statement."""
        return self._limit_field.get_db_prep_value(uuid.UUID(limit_id), connection)

    def run_param(self, task_run_id: Any) -> Any:
        """A task run id as this database takes it in a raw statement."""
        return self._run_field.get_db_prep_value(task_run_id, connection)

    def any_limited(self, tags: list[str]) -> bool:
        """Whether any of ``tags`` (not empty) has a limit."""
        marks = ", ".join(["%s"] * len(tags))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {self.limits_table} WHERE tag IN ({marks}) LIMIT 1", tags
            )
            return cursor.fetchone() is not None

    def acquire(
        self, task_run_id: Any, tags: list[str], owner: str, queued: bool = False
    ) -> SlotDecision:
        """A slot of every limited tag of ``tags`` (sorted, distinct, not empty) or none;
        ``queued``: the run is known to wait in line already."""
        early = self._before_deciding(tags)
        if early is not None:
            return early
        run_param = self.run_param(task_run_id)
        seen = self.wakeups.generation
        if self.wakeups.is_waiting(task_run_id):
            decision = self._still_waiting(task_run_id, tags, run_param, seen)
        else:
            decision = self._take_free_slots(tags, run_param, owner)
        if decision is not None:
            return decision
        may_reclaim = True
        full = None if queued else self._full_lately(tags)
        if full is not None:
            # These limits were full a moment ago: a newcomer will most likely wait, so the
            # dead ahead of it are reclaimed first, and the limits locked once.
            self._reclaim_limits(full, always_purge=False)
            may_reclaim = False
        with transaction.atomic():
            decision = self._decide(task_run_id, tags, run_param, owner, seen, may_reclaim)
        if isinstance(decision, _ReclaimFirst):
            # Reclaimed without the limits' locks, which every run of these tags queues on.
            full = decision.limit_ids
            self._reclaim_limits(full, always_purge=False)
            with transaction.atomic():
                decision = self._decide(task_run_id, tags, run_param, owner, seen, False)
        if decision.status == "wait":
            if full:
                with self._reclaimed_lock:
                    self._full[tuple(tags)] = (time.monotonic(), full)
        else:
            self.wakeups.stopped_waiting(task_run_id)
        return decision

    def _full_lately(self, tags: list[str]) -> list | None:
        """The limit ids of ``tags`` if a run of this process was told to wait on them within
        ``RECLAIM_SECONDS``, else None."""
        with self._reclaimed_lock:
            seen = self._full.get(tuple(tags))
        if seen is None or time.monotonic() - seen[0] > RECLAIM_SECONDS or not seen[1]:
            return None
        return seen[1]

    def release(self, task_run_id: Any, tags: Iterable[str] | None) -> list[str]:
        """Free the run's slots and take it out of wait queues; the tags freed."""
        self.wakeups.forget(task_run_id)
        return self._release(self.run_param(task_run_id), tags)

    def notify_released(self, tags: Iterable[str] = ()) -> None:
        """After commit: wake the waiters of this process now, and those of other processes."""
        self.wakeups.wake()
        self._notify_others(bool(list(tags)))

    def wait_for_slot(self, task_run_id: Any, timeout: float) -> None:
        """Sleep until a slot may have been freed, at most ``timeout`` seconds."""
        self.wakeups.wait(task_run_id, timeout, self.start_listener())

    def may_go_now(self, task_run_ids: list) -> list:
        """Of these queued runs, those first in line, within their limit's free slots, on
        every limit they are queued on; earliest queued first. Runs queued nowhere are left
        out. One statement: the order is the careful path's (enqueued, then run id)."""
        if not task_run_ids:
            return []
        params = [self.run_param(run) for run in task_run_ids]
        marks = ", ".join(["%s"] * len(params))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT line.task_run_id FROM ("
                f"SELECT w.task_run_id, w.enqueued, "
                f"ROW_NUMBER() OVER (PARTITION BY w.limit_id ORDER BY w.enqueued, w.task_run_id)"
                f" AS place, l.concurrency_limit - COALESCE(held.n, 0) AS free "
                f"FROM {self.waiters_table} w JOIN {self.limits_table} l ON l.id = w.limit_id "
                f"LEFT JOIN (SELECT limit_id, COUNT(*) AS n FROM {self.slots_table} "
                f"GROUP BY limit_id) held ON held.limit_id = w.limit_id "
                f"WHERE w.limit_id IN (SELECT limit_id FROM {self.waiters_table} "
                f"WHERE task_run_id IN ({marks}))) line "
                f"WHERE line.task_run_id IN ({marks}) GROUP BY line.task_run_id "
                f"HAVING SUM(CASE WHEN line.place > line.free THEN 1 ELSE 0 END) = 0 "
                f"ORDER BY MIN(line.enqueued), line.task_run_id",
                [*params, *params],
            )
            rows = [row[0] for row in cursor.fetchall()]
        by_param = {str(param): run for param, run in zip(params, task_run_ids, strict=True)}
        return [by_param[str(row)] for row in rows]

    def reclaim_dead_slots(self) -> int:
        """Free every slot whose run ended or whose owner died, and drop such runs from wait
        queues; the number of slots freed."""
        from runs_limits.models import ConcurrencyLimit

        return self._reclaim_limits(list(ConcurrencyLimit.objects.values_list("id", flat=True)))

    def _reclaim_limits(self, limit_ids: list, always_purge: bool = True) -> int:
        """Free the dead slots of these limits and drop their dead waiters, waking the runs
        that may go now; the number of slots freed. Unless ``always_purge``, waiters are
        looked at by this process at most every ``RECLAIM_SECONDS`` (a long line costs more
        to look at than the few slots, and the heartbeat's reaper looks too)."""
        purge = always_purge or self._reclaim_due(limit_ids)
        with transaction.atomic():
            freed = self._reclaim(limit_ids)
            if freed + (self._purge_waiters(limit_ids) if purge else 0):
                transaction.on_commit(self.notify_released)
        if purge:
            self._looked_at(limit_ids)
        return freed

    def _looked_at(self, limit_ids: list) -> None:
        when = time.monotonic()
        with self._reclaimed_lock:
            for limit_id in limit_ids:
                self._reclaimed[str(limit_id)] = when

    def _reclaim_due(self, limit_ids: list) -> bool:
        """Whether this process has not looked for the dead waiters of one of these limits
        lately."""
        since = time.monotonic() - RECLAIM_SECONDS
        with self._reclaimed_lock:
            return any(self._reclaimed.get(str(limit_id), 0.0) < since for limit_id in limit_ids)

    # ---- the careful path ------------------------------------------------------------------------
    def _still_waiting(
        self, task_run_id: Any, tags: list[str], run_param: Any, seen: int
    ) -> SlotDecision | None:
        """A queued run that cannot go yet, found by reading without locks; else None.

        Every release wakes every waiter of its tags, and only the first in line can go: the
        others answer here with plain reads instead of queueing on the limits' locks
        (PostgreSQL) or the write lock (SQLite) behind it. A run that may go, or is not yet
        queued on every limit that blocks it, takes the careful path. Nothing is missed:
        ``seen`` predates these reads, so a slot freed after them still wakes the run. Slots
        and places of dead runs are reclaimed by the careful path of the first in line and by
        every process's heartbeat (:meth:`reclaim_dead_slots`).
        """
        with connection.cursor() as cursor:
            loads, held, queues, _ = self._limits_and_queues(cursor, tags, run_param)
        limits = [Limit(load.id, load.tag, load.allowed) for load in loads]
        if not limits or queue_order.closed_limit(limits) is not None:
            return None
        blocked = queue_order.blocking(limits, held, queues)
        if not queue_order.waits_in_line(blocked, queues):
            return None  # it may go, or it must queue where it blocks: the careful path decides
        return self._told_to_wait(task_run_id, blocked, seen)

    def _decide(
        self,
        task_run_id: Any,
        tags: list[str],
        run_param: Any,
        owner: str,
        seen: int,
        may_reclaim: bool = True,
    ) -> SlotDecision | _ReclaimFirst:
        """Inside a transaction: count, queue, abort or take; or, before a run is told to wait,
        ask for the dead slots and places ahead of it to be reclaimed first (outside the
        limits' locks)."""

        with connection.cursor() as cursor:
            self._lock_limits(cursor, tags)
            loads, held, queues, earliest = self._limits_and_queues(cursor, tags, run_param)
            if not loads:
                return UNLIMITED
            limits = [Limit(load.id, load.tag, load.allowed) for load in loads]
            closed = queue_order.closed_limit(limits)
            if closed is not None:
                self._leave_queues(cursor, run_param)
                return decisions.abort(closed.tag)
            limit_ids = [limit.id for limit in limits]
            if queue_order.room_in_every_limit(loads):
                self._take_slots(cursor, limit_ids, run_param, owner, leave_queues=False)
                return ACQUIRED
            blocked = queue_order.blocking(limits, held, queues)
            if blocked and may_reclaim:
                # Make sure the slots and places ahead are real before waiting.
                return _ReclaimFirst([uuid.UUID(str(limit_id)) for limit_id in limit_ids])
            if blocked:
                joining = queue_order.queues_to_join(blocked, queues)
                if joining:
                    self._join_queues(cursor, joining, run_param, earliest, owner)
                self._announce_wanted(cursor, [limit.tag for limit in blocked])
                return self._told_to_wait(task_run_id, blocked, seen)
            leave = queue_order.queued_on(queues)
            self._take_slots(cursor, limit_ids, run_param, owner, leave_queues=leave)
        return ACQUIRED

    def _limits_and_queues(
        self, cursor: Any, tags: list[str], run_param: Any
    ) -> tuple[list[Load], dict[str, int], dict[str, list[Waiter]], Any]:
        """In one statement, the limits of ``tags`` with the slots other runs hold in each and
        its queue: their loads, the slots held by limit id (as a string), the queues, and when
        the asking run first queued (as the database gave it; None if it is queued nowhere)."""
        marks = ", ".join(["%s"] * len(tags))
        cursor.execute(
            f"SELECT l.id, l.tag, l.concurrency_limit, COALESCE(h.n, 0), w.task_run_id, "
            f"w.enqueued FROM {self.limits_table} l "
            f"LEFT JOIN (SELECT limit_id, COUNT(*) AS n FROM {self.slots_table} "
            f"WHERE task_run_id <> %s GROUP BY limit_id) h ON h.limit_id = l.id "
            f"LEFT JOIN {self.waiters_table} w ON w.limit_id = l.id "
            f"WHERE l.tag IN ({marks}) ORDER BY l.tag",
            [run_param, *tags],
        )
        limits: dict[str, tuple] = {}
        queues: dict[str, list[Waiter]] = {}
        mine = str(run_param)
        earliest = None
        for limit_id, tag, allowed, held, waiter_run, enqueued in cursor.fetchall():
            key = str(limit_id)
            limits.setdefault(key, (limit_id, tag, allowed, held))
            if waiter_run is not None:
                waiter = Waiter(str(waiter_run) == mine, (str(enqueued), str(waiter_run)))
                queues.setdefault(key, []).append(waiter)
                if waiter.mine and (earliest is None or str(enqueued) < str(earliest)):
                    earliest = enqueued
        loads = [
            Load(limit_id, tag, allowed, held, len(queues.get(key, ())))
            for key, (limit_id, tag, allowed, held) in limits.items()
        ]
        return loads, {key: row[3] for key, row in limits.items()}, queues, earliest

    def _join_queues(
        self, cursor: Any, limit_ids: list[str], run_param: Any, earliest: Any, owner: str
    ) -> None:
        """Queue the run on these limits (ids as strings), at the place it first queued
        anywhere, else now (:func:`queue_order.first_place`); one statement."""
        enqueued = queue_order.first_place(
            earliest, connection.ops.adapt_datetimefield_value(now())
        )
        marks = ", ".join(["(%s, %s, %s, %s)"] * len(limit_ids))
        cursor.execute(
            f"INSERT INTO {self.waiters_table} (limit_id, task_run_id, enqueued, owner) "
            f"VALUES {marks} ON CONFLICT (limit_id, task_run_id) DO NOTHING",
            [
                value
                for limit_id in limit_ids
                for value in (self._limit_param(limit_id), run_param, enqueued, owner)
            ],
        )

    def _told_to_wait(self, task_run_id: Any, blocked: list[Blocking], seen: int) -> SlotDecision:
        self.wakeups.told_to_wait(task_run_id, seen)
        return decisions.wait(blocked[0])

    def _take_slots(
        self, cursor: Any, limit_ids: list, run_param: Any, owner: str, *, leave_queues: bool
    ) -> None:
        """Insert the run's slots, and take it out of its wait queues if it is queued."""
        self._insert_slots(cursor, limit_ids, run_param, owner)
        if leave_queues:
            self._leave_queues(cursor, run_param)

    def _insert_slots(self, cursor: Any, limit_ids: list, run_param: Any, owner: str) -> None:
        acquired = connection.ops.adapt_datetimefield_value(now())
        cursor.executemany(
            f"INSERT INTO {self.slots_table} (limit_id, task_run_id, acquired, owner) "
            "VALUES (%s, %s, %s, %s)",
            [(limit_id, run_param, acquired, owner) for limit_id in limit_ids],
        )

    def _leave_queues(self, cursor: Any, run_param: Any) -> None:
        cursor.execute(f"DELETE FROM {self.waiters_table} WHERE task_run_id = %s", [run_param])

    # ---- reclaiming what the dead left -----------------------------------------------------------
    def _reclaim(self, limit_ids: list) -> int:
        """Delete slots of these limits whose run ended or whose owner died."""
        from runs_limits.models import ConcurrencySlot

        held = ConcurrencySlot.objects.filter(limit_id__in=limit_ids)
        dead = list(held.filter(_gone(held, slots=True)).values_list("id", flat=True))
        return _delete(ConcurrencySlot.objects.filter(id__in=dead)) if dead else 0

    def _purge_waiters(self, limit_ids: list) -> int:
        """Drop waiters whose run no longer waits (it ended, or its process died); how many."""
        from runs_limits.models import SlotWaiter

        queued = SlotWaiter.objects.filter(limit_id__in=limit_ids)
        gone = list(queued.filter(_gone(queued)).values_list("id", flat=True))
        return _delete(SlotWaiter.objects.filter(id__in=gone)) if gone else 0


class _ReclaimFirst:
    """The careful path's answer when dead slots or places may stand ahead of a run."""

    def __init__(self, limit_ids: list) -> None:
        self.limit_ids = limit_ids


def _delete(queryset: Any) -> int:
    # A plain DELETE: these rows have nothing that cascades, and the ORM's collector would
    # cost more queries than the delete itself.
    return queryset._raw_delete(queryset.db)


def _gone(queryset: Any, slots: bool = False) -> Any:
    """A Q matching rows of ``queryset`` (slots or waiters) whose run ended or whose owner died.

    A run whose row is not written yet is neither: its owner is alive and still writing it.
    With ``slots``, a dead owner's slot is kept while its run is recorded RUNNING: the reaper
    ends that run CRASHED, and the transition frees the slot, so that no instant of the
    recorded history shows the slot's next holder RUNNING beside it.
    """
    from django.db.models import Exists, OuterRef

    from runs.models import TaskRun
    from runs.owners import dead_owners_filter
    from runs.states import FINAL_TYPES, StateType

    # EXISTS, not a join: the ORM would join inner, losing the rows whose run is not written.
    runs = TaskRun.objects.filter(id=OuterRef("task_run_id"))
    ended = Exists(runs.filter(state_type__in=FINAL_TYPES))
    dead = dead_owners_filter(queryset)
    if slots:
        dead &= ~Exists(runs.filter(state_type=StateType.RUNNING))
    return ended | dead
