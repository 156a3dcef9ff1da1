"""Concurrency slots: acquired all at once or not at all, served first come first served, freed on exit.

Locking, chosen per database so that slots stay exact under contention:

- **SQLite**: the orchestration's transaction is ``IMMEDIATE``: it holds the database's single
  write lock from its first statement, so two acquirers (threads or processes) can never both
  count the same free slot. Counting and deciding is then one plain statement.
- **PostgreSQL**: the limit rows of the run's tags are locked with ``SELECT ... FOR UPDATE``,
  always in tag order, so two runs wanting [a, b] and [b, a] queue on ``a`` instead of
  deadlocking. The slots are counted in a *later* statement: under READ COMMITTED a statement
  that waited for a row lock keeps the snapshot it started with and would miss the slot the
  lock holder just took. Release takes no limit lock: deleting one's own slot can only make
  room, and a concurrent acquirer that counted it waits and is woken by the NOTIFY.

A slot belongs to a task run that is RUNNING under a process whose lease is alive; any other
slot is reclaimed before a run is told to wait. Waiters wait in
:class:`~limits.models.SlotWaiter` rows, oldest first; a run that frees a slot wakes the waiters
of this process at once (a condition variable) and those of other processes through PostgreSQL
``NOTIFY`` (queued by :func:`release` inside the caller's transaction, so it is delivered
exactly when the slot is free) or, on SQLite, by their short poll (``POLL_SECONDS``).
A waiter remembers the wake-up generation from before its decision, so a slot freed between
"wait" and :func:`wait_for_slot` still wakes it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from runs.states import now

logger = logging.getLogger("runs.limits")

#: How often a waiter looks again when nothing can wake it from another process (SQLite).
POLL_SECONDS = 0.1
_NOTIFY_CHANNEL = "runs_slots"

_released = threading.Condition()
_generation = 0
_listener: threading.Thread | None = None
#: The wake-up generation seen when a run was told to wait, so that a slot freed between that
#: decision and the start of :func:`wait_for_slot` still wakes it.
_wait_marks: dict[str, int] = {}
_local = threading.local()


@dataclass(frozen=True)
class SlotDecision:
    """The answer to a request for slots."""

    status: str  # "acquired" | "wait" | "abort" | "unlimited"
    tag: str | None = None
    limit: int | None = None
    holders: int = 0
    message: str = ""


def _tables():
    from django.db import connection

    from limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter

    q = connection.ops.quote_name
    return (
        q(ConcurrencyLimit._meta.db_table),
        q(ConcurrencySlot._meta.db_table),
        q(SlotWaiter._meta.db_table),
    )


def _run_id_param(task_run_id):
    from django.db import connection

    from limits.models import ConcurrencySlot

    return ConcurrencySlot._meta.get_field("task_run").get_db_prep_value(task_run_id, connection)


def any_limited(tags: Iterable[str]) -> bool:
    """Whether any of ``tags`` has a limit (no query for an empty list)."""
    tags = list(tags)
    if not tags:
        return False
    from django.db import connection

    limits_table, _, _ = _tables()
    marks = ", ".join(["%s"] * len(tags))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {limits_table} WHERE tag IN ({marks}) LIMIT 1", tags)
        return cursor.fetchone() is not None


def _live_owners():
    from runs.models import ProcessLease

    return ProcessLease.objects.filter(expires__gt=now()).values("owner")


def _delete(queryset) -> int:
    # A plain DELETE: these rows have nothing that cascades, and the ORM's collector would
    # cost more queries than the delete itself.
    return queryset._raw_delete(queryset.db)


def _reclaim(limit_ids: list) -> int:
    """Delete slots of these limits whose holder is not RUNNING or whose process's lease lapsed."""
    from django.db.models import Q

    from limits.models import ConcurrencySlot

    dead = ConcurrencySlot.objects.filter(limit_id__in=limit_ids).filter(
        ~Q(task_run__state_type="RUNNING") | ~Q(task_run__owner__in=_live_owners())
    )
    return _delete(ConcurrencySlot.objects.filter(id__in=list(dead.values_list("id", flat=True))))


def _purge_waiters(limit_ids: list) -> None:
    """Drop waiters whose run no longer waits (finished elsewhere, or its process died)."""
    from django.db.models import Q

    from limits.models import SlotWaiter

    gone = SlotWaiter.objects.filter(limit_id__in=limit_ids).filter(
        ~Q(task_run__state_type="PENDING") | (~Q(owner="") & ~Q(owner__in=_live_owners()))
    )
    _delete(SlotWaiter.objects.filter(id__in=list(gone.values_list("id", flat=True))))


def _occupancy(cursor, limit_ids: list, run_param) -> tuple[dict, dict]:
    """Per limit: slots held by other runs, and the enqueue times of its waiters (with mine)."""
    _, slots_table, waiters_table = _tables()
    marks = ", ".join(["%s"] * len(limit_ids))
    cursor.execute(
        f"SELECT limit_id, COUNT(*) FROM {slots_table} WHERE limit_id IN ({marks}) "
        "AND task_run_id <> %s GROUP BY limit_id",
        [*limit_ids, run_param],
    )
    held = {str(limit_id): count for limit_id, count in cursor.fetchall()}
    cursor.execute(
        f"SELECT limit_id, task_run_id, enqueued FROM {waiters_table} WHERE limit_id IN ({marks})",
        limit_ids,
    )
    queues: dict[str, list] = {}
    for limit_id, waiter_run, enqueued in cursor.fetchall():
        queues.setdefault(str(limit_id), []).append((str(waiter_run) == str(run_param), enqueued))
    return held, queues


def _blocked(limits: list, held: dict, queues: dict) -> list[tuple]:
    blocked = []
    for limit_id, tag, allowed in limits:
        queue = queues.get(str(limit_id), [])
        mine = [enqueued for is_mine, enqueued in queue if is_mine]
        ahead = sum(
            1
            for is_mine, enqueued in queue
            if not is_mine and (not mine or str(enqueued) < str(mine[0]))
        )
        holders = held.get(str(limit_id), 0)
        if holders + ahead >= allowed:
            blocked.append((limit_id, tag, allowed, holders, ahead))
    return blocked


def acquire(task_run_id, tags: Iterable[str]) -> SlotDecision:
    """Inside the caller's transaction: a slot of every limited tag of the run, or none.

    Returns ``acquired``, ``wait`` (naming the blocking tag), ``abort`` (a limit of 0) or
    ``unlimited`` (no tag has a limit). The common case (room in every limit, nobody queued)
    costs two statements; reclaiming dead slots happens only when a limit looks full.
    """
    from django.db import connection

    from limits.models import SlotWaiter
    from runs.leases import current_owner

    limits_table, slots_table, waiters_table = _tables()
    tags = sorted(set(tags))
    if not tags:
        return SlotDecision("unlimited")
    run_param = _run_id_param(task_run_id)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    marks = ", ".join(["%s"] * len(tags))
    if lock:
        _ensure_listener()  # listening before deciding, so no NOTIFY after it is missed
    seen = _generation
    with connection.cursor() as cursor:
        if lock:
            # Lock first, count after: a statement that waited for a row lock still reads with
            # the snapshot it started with, so counts taken in it could miss a slot just taken.
            cursor.execute(
                f"SELECT id FROM {limits_table} WHERE tag IN ({marks}) ORDER BY tag FOR UPDATE",
                tags,
            )
            if _take_if_free(cursor, tags, run_param):
                return SlotDecision("acquired")
        # The common case in one statement: each limit with the slots other runs hold in it
        # and the length of its wait queue.
        cursor.execute(
            f"SELECT l.id, l.tag, l.concurrency_limit, "
            f"(SELECT COUNT(*) FROM {slots_table} s WHERE s.limit_id = l.id "
            f"AND s.task_run_id <> %s), "
            f"(SELECT COUNT(*) FROM {waiters_table} w WHERE w.limit_id = l.id) "
            f"FROM {limits_table} l WHERE l.tag IN ({marks}) ORDER BY l.tag",
            [run_param, *tags],
        )
        rows = cursor.fetchall()
        if not rows:
            return SlotDecision("unlimited")
        limits = [(limit_id, tag, allowed) for limit_id, tag, allowed, _, _ in rows]
        for _, tag, allowed in limits:
            if allowed == 0:
                cursor.execute(f"DELETE FROM {waiters_table} WHERE task_run_id = %s", [run_param])
                return SlotDecision(
                    "abort",
                    tag=tag,
                    limit=0,
                    message=f"The concurrency limit of tag {tag!r} is 0: task runs with this "
                    "tag are aborted, never run. Raise the limit with "
                    f"`runs concurrency-limit create {tag} N` to let them run.",
                )
        if all(queued == 0 and held < allowed for _, _, allowed, held, queued in rows):
            _insert_slots(cursor, slots_table, [row[0] for row in rows], run_param)
            return SlotDecision("acquired")
        limit_ids = [limit_id for limit_id, _, _ in limits]
        held, queues = _occupancy(cursor, limit_ids, run_param)
        blocked = _blocked(limits, held, queues)
        if blocked:  # make sure the slots and places ahead are real before waiting
            orm_ids = [uuid.UUID(str(limit_id)) for limit_id in limit_ids]
            _reclaim(orm_ids)
            _purge_waiters(orm_ids)
            held, queues = _occupancy(cursor, limit_ids, run_param)
            blocked = _blocked(limits, held, queues)
        if blocked:
            current = now()
            owner = current_owner()
            waiting = {str(limit_id) for limit_id, *_ in blocked}
            for limit_id in waiting:
                if not any(is_mine for is_mine, _ in queues.get(limit_id, [])):
                    SlotWaiter.objects.get_or_create(
                        limit_id=uuid.UUID(limit_id),
                        task_run_id=task_run_id,
                        defaults={"enqueued": current, "owner": owner},
                    )
            with _released:
                if len(_wait_marks) > 10_000:  # runs re-queued elsewhere never came back here
                    _wait_marks.clear()
                _wait_marks[str(task_run_id)] = seen
            _, tag, allowed, holders, ahead = blocked[0]
            queue = f", {ahead} waiting ahead" if ahead else ""
            return SlotDecision(
                "wait",
                tag=tag,
                limit=allowed,
                holders=holders,
                message=f"Waiting for a slot of tag {tag!r}: {holders} of {allowed} in use{queue}.",
            )
        _insert_slots(cursor, slots_table, limit_ids, run_param)
        if any(is_mine for queue in queues.values() for is_mine, _ in queue):
            cursor.execute(f"DELETE FROM {waiters_table} WHERE task_run_id = %s", [run_param])
    return SlotDecision("acquired")


def _take_if_free(cursor, tags: list[str], run_param) -> bool:
    """PostgreSQL, limits locked: insert a slot of every limit in one statement if all have room
    and nobody queued; False (nothing inserted) sends the caller down the careful path."""
    from django.db import connection

    limits_table, slots_table, waiters_table = _tables()
    marks = ", ".join(["%s"] * len(tags))
    acquired = connection.ops.adapt_datetimefield_value(now())
    cursor.execute(
        f"WITH c AS (SELECT l.id, l.concurrency_limit AS allowed, "
        f"(SELECT COUNT(*) FROM {slots_table} s WHERE s.limit_id = l.id "
        f"AND s.task_run_id <> %s) AS held, "
        f"(SELECT COUNT(*) FROM {waiters_table} w WHERE w.limit_id = l.id) AS queued "
        f"FROM {limits_table} l WHERE l.tag IN ({marks})), "
        f"ok AS (SELECT COUNT(*) > 0 AND bool_and(queued = 0 AND held < allowed) AS ok FROM c) "
        f"INSERT INTO {slots_table} (limit_id, task_run_id, acquired) "
        f"SELECT c.id, %s, %s FROM c, ok WHERE ok.ok RETURNING limit_id",
        [run_param, *tags, run_param, acquired],
    )
    return bool(cursor.fetchall())


def _insert_slots(cursor, slots_table: str, limit_ids: list, run_param) -> None:
    from django.db import connection

    acquired = connection.ops.adapt_datetimefield_value(now())
    cursor.executemany(
        f"INSERT INTO {slots_table} (limit_id, task_run_id, acquired) VALUES (%s, %s, %s)",
        [(limit_id, run_param, acquired) for limit_id in limit_ids],
    )


def release(task_run_id) -> list[str]:
    """Inside the caller's transaction: free the run's slots and leave wait queues; the tags freed."""
    from django.db import connection

    limits_table, slots_table, waiters_table = _tables()
    run_param = _run_id_param(task_run_id)
    if _wait_marks:
        with _released:
            _wait_marks.pop(str(task_run_id), None)
    if connection.vendor == "postgresql":
        # One round trip; the NOTIFY is sent by PostgreSQL when the caller's transaction commits.
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH freed AS (DELETE FROM {slots_table} WHERE task_run_id = %s "
                f"RETURNING limit_id), left_queue AS (DELETE FROM {waiters_table} "
                f"WHERE task_run_id = %s RETURNING 1) "
                f"SELECT l.tag, pg_notify('{_NOTIFY_CHANNEL}', '') FROM freed "
                f"JOIN {limits_table} l ON l.id = freed.limit_id",
                [run_param, run_param],
            )
            tags = [row[0] for row in cursor.fetchall()]
        if tags:
            _local.notified = True
        return tags
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.tag FROM {slots_table} s JOIN {limits_table} l "
            "ON l.id = s.limit_id WHERE s.task_run_id = %s",
            [run_param],
        )
        tags = [row[0] for row in cursor.fetchall()]
        if tags:
            cursor.execute(f"DELETE FROM {slots_table} WHERE task_run_id = %s", [run_param])
        cursor.execute(f"DELETE FROM {waiters_table} WHERE task_run_id = %s", [run_param])
    return tags


def notify_released(tags: Iterable[str] = ()) -> None:
    """After commit: wake the waiters of this process now, and those of other processes."""
    global _generation
    with _released:
        _generation += 1
        _released.notify_all()
    from django.db import connection

    tags = list(tags)
    queued_by_release = bool(tags) and _local.__dict__.pop("notified", False)
    if connection.vendor == "postgresql" and not queued_by_release:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"NOTIFY {_NOTIFY_CHANNEL}")
        except Exception:  # waking others is best effort: they poll too
            logger.debug("NOTIFY failed", exc_info=True)


def wait_for_slot(task_run_id, tags: Iterable[str], timeout: float) -> None:
    """Sleep until a slot may have been freed, at most ``timeout`` seconds."""
    from django.db import connection

    cross_process_wake = connection.vendor == "postgresql" and _ensure_listener()
    wait = timeout if cross_process_wake else min(timeout, POLL_SECONDS)
    with _released:
        seen = _wait_marks.pop(str(task_run_id), _generation)
        _released.wait_for(lambda: _generation != seen, timeout=max(wait, 0.001))


def _ensure_listener() -> bool:
    """A thread that LISTENs on PostgreSQL and turns NOTIFY into a local wake-up."""
    global _listener
    if _listener is not None and _listener.is_alive():
        return True
    try:
        import psycopg
        from django.db import connection

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        listen_conn = psycopg.connect(**params, autocommit=True)
        listen_conn.execute(f"LISTEN {_NOTIFY_CHANNEL}")
    except Exception:
        logger.debug("LISTEN unavailable; waiters poll", exc_info=True)
        return False

    def listen() -> None:
        global _generation
        try:
            for _ in listen_conn.notifies():
                with _released:
                    _generation += 1
                    _released.notify_all()
        except Exception:
            logger.debug("LISTEN connection closed", exc_info=True)

    _listener = threading.Thread(target=listen, name="runs-slot-listener", daemon=True)
    _listener.start()
    return True


def reclaim_dead_slots() -> int:
    """Free every slot whose holder is not RUNNING or whose process's lease lapsed."""
    from django.db import transaction

    from limits.models import ConcurrencyLimit

    with transaction.atomic():
        freed = _reclaim(list(ConcurrencyLimit.objects.values_list("id", flat=True)))
    if freed:
        notify_released()
    return freed
