"""Concurrency slots: acquired all at once or not at all, served first come first served, freed on exit.

A slot is a row naming its limit, its task run and its owner: the process running the task
run. Slots are taken and freed in transactions of their own, apart from the run's state rows
(those go through the write-behind buffer), so that a limited run costs one or two short round
trips more than an unlimited one; a slot is held while its owner lives (:mod:`runs.leases`) and its
run has not ended, and any other slot is reclaimed before a run is told to wait.

Locking, chosen per database so that slots stay exact under contention:

- **PostgreSQL**: the limit rows of the run's tags are locked with ``SELECT ... FOR UPDATE``,
  always in tag order, so two runs wanting [a, b] and [b, a] queue on ``a`` instead of
  deadlocking. The slots are counted in a *later* statement: under READ COMMITTED a statement
  that waited for a row lock keeps the snapshot it started with and would miss the slot the
  lock holder just took. The common case (room in every limit, nobody queued) is the stored
  function ``limits_take_free_slots`` (migration 0003): lock, then count-and-insert, in one
  round trip, each statement with a fresh snapshot. Anything else (a full limit, a queue, a limit
  of 0) takes the careful path in a transaction that holds the same locks. :func:`release`
  takes no limit lock: deleting one's own slot can only make room, and a concurrent acquirer
  that counted it waits and is woken by the NOTIFY. A release deferred into the function is
  different: it locks the freed slots' limits with the ones it takes, so any run that queued on
  them has committed its waiter row, and sends the NOTIFY only when there is such a waiter.
- **SQLite**: the transaction is ``IMMEDIATE``: it holds the database's single write lock from
  its first statement, so two acquirers (threads or processes) can never both count the same
  free slot. Counting and deciding are then plain statements. The orchestration runs these
  transactions in turn with its own writer (``writer.serialized``), because waiting for the
  lock inside SQLite's busy handler costs milliseconds.

Waiters wait in :class:`~limits.models.SlotWaiter` rows, oldest first. A run queued on several
limits has the same place (the time it first queued, then its id) in each, so no two runs can
each be ahead of the other, which would leave both waiting for ever. A run that frees a slot
wakes the waiters of this process at once (a condition variable) and those of other processes
through PostgreSQL ``NOTIFY`` (sent by :func:`release` when its transaction commits, so it is
delivered exactly when the slot is free) or, on SQLite, by their short poll (``POLL_SECONDS``).
A waiter remembers the wake-up generation from before its decision, so a slot freed between
"wait" and :func:`wait_for_slot` still wakes it.

On PostgreSQL, where a round trip costs more than the rest of a short task run, the slot of a
run that reached a final state while nobody waited for its tags is not freed by a statement of
its own: it goes with this process's next slot statement (one round trip for "free the last,
take the next"), or the listener thread frees it within ``DEFERRED_RELEASE_SECONDS``, and the
end of a flow run frees what is left. Holding a slot a little longer can make a newcomer wait,
never lets one run too many. A run that waits announces its tag (``NOTIFY runs_slots_wanted``):
every process's listener then frees at once what it holds back, and releases of that tag stop
being deferred in that process until it next finds nobody queued for it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from runs.states import now

logger = logging.getLogger("runs.limits")

#: How often a waiter looks again when nothing can wake it from another process (SQLite).
POLL_SECONDS = 0.1
#: PostgreSQL: the longest a slot stays held after its run ended when nobody waits for it.
DEFERRED_RELEASE_SECONDS = 0.1
_NOTIFY_CHANNEL = "runs_slots"
#: Carries the tag a run waits for, so that processes holding its slots free them at once.
_WANTED_CHANNEL = "runs_slots_wanted"

_released = threading.Condition()
_generation = 0
_listener: threading.Thread | None = None
_listener_lock = threading.Lock()
#: The wake-up generation seen when a run was told to wait, so that a slot freed between that
#: decision and the start of :func:`wait_for_slot` still wakes it.
_wait_marks: dict[str, int] = {}
#: Runs this process was told to wait for: their next try reads before it takes any lock.
_queued_here: set[str] = set()
_local = threading.local()
#: PostgreSQL: runs that ended whose slots are freed with this process's next slot statement,
#: by the listener thread within DEFERRED_RELEASE_SECONDS, or at once when somebody waits.
_deferred: list = []
_deferred_since = 0.0
_deferred_lock = threading.Lock()
#: Tags that some run (of any process) was seen waiting for: their slots are freed at once.
_contended: set[str] = set()


def _forget_after_fork() -> None:
    global _deferred_since
    _deferred.clear()  # the parent frees its own
    _deferred_since = 0.0


os.register_at_fork(after_in_child=_forget_after_fork)


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


def _delete(queryset) -> int:
    # A plain DELETE: these rows have nothing that cascades, and the ORM's collector would
    # cost more queries than the delete itself.
    return queryset._raw_delete(queryset.db)


def _gone(queryset):
    """A Q matching rows of ``queryset`` (slots or waiters) whose run ended or whose owner died.

    A run whose row is not written yet is neither: its owner is alive and still writing it.
    """
    from django.db.models import Exists, OuterRef

    from runs.leases import dead_owners_filter
    from runs.models import TaskRun
    from runs.states import FINAL_TYPES

    # EXISTS, not a join: the ORM would join inner, losing the rows whose run is not written.
    ended = Exists(TaskRun.objects.filter(
        id=OuterRef("task_run_id"), state_type__in=FINAL_TYPES))
    return ended | dead_owners_filter(queryset)


def _reclaim(limit_ids: list) -> int:
    """Delete slots of these limits whose run ended or whose owner died."""
    from limits.models import ConcurrencySlot

    held = ConcurrencySlot.objects.filter(limit_id__in=limit_ids)
    dead = list(held.filter(_gone(held)).values_list("id", flat=True))
    return _delete(ConcurrencySlot.objects.filter(id__in=dead)) if dead else 0


def _purge_waiters(limit_ids: list) -> int:
    """Drop waiters whose run no longer waits (it ended, or its process died); how many."""
    from limits.models import SlotWaiter

    queued = SlotWaiter.objects.filter(limit_id__in=limit_ids)
    gone = list(queued.filter(_gone(queued)).values_list("id", flat=True))
    return _delete(SlotWaiter.objects.filter(id__in=gone)) if gone else 0


def _occupancy(cursor, limit_ids: list, run_param) -> tuple[dict, dict]:
    """Per limit: slots held by other runs, and its queue as (is mine, place) pairs.

    A place is (enqueue time, run id): the run id breaks ties, so every queue orders the
    same two runs the same way."""
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
        is_mine = str(waiter_run) == str(run_param)
        queues.setdefault(str(limit_id), []).append((is_mine, (str(enqueued), str(waiter_run))))
    return held, queues


def _blocked(limits: list, held: dict, queues: dict) -> list[tuple]:
    blocked = []
    for limit_id, tag, allowed in limits:
        queue = queues.get(str(limit_id), [])
        mine = [place for is_mine, place in queue if is_mine]
        ahead = sum(1 for is_mine, place in queue if not is_mine and (not mine or place < mine[0]))
        holders = held.get(str(limit_id), 0)
        if holders + ahead >= allowed:
            blocked.append((limit_id, tag, allowed, holders, ahead))
    return blocked


def acquire(task_run_id, tags: Iterable[str], owner: str | None = None) -> SlotDecision:
    """A slot of every limited tag of the run, or none, for the process ``owner`` (this one).

    Atomic by itself: in the caller's transaction if there is one, else in its own. Returns
    ``acquired``, ``wait`` (naming the blocking tag), ``abort`` (a limit of 0) or ``unlimited``
    (no tag has a limit). The common case (room in every limit, nobody queued) is one round
    trip on PostgreSQL and one short write transaction on SQLite; reclaiming dead slots
    happens only when a limit looks full.
    """
    from django.db import connection, transaction

    from runs.leases import current_owner

    tags = sorted(set(tags))
    if not tags:
        return SlotDecision("unlimited")
    owner = owner or current_owner()
    run_param = _run_id_param(task_run_id)
    postgres = connection.vendor == "postgresql"
    if postgres:
        _ensure_listener()  # listening before deciding, so no NOTIFY after it is missed
    elif not any_limited(tags):  # a read: runs with unlimited tags never take the write lock
        return SlotDecision("unlimited")
    seen = _generation
    queued_here = str(task_run_id) in _queued_here
    if queued_here:
        still_waiting = _still_waiting(task_run_id, tags, run_param, seen)
        if still_waiting is not None:
            return still_waiting
    # The function would find the run's own places in the queues and answer "busy".
    if postgres and not queued_here:
        # Deferred releases ride along, unless a caller's transaction could still roll back.
        freeing = [] if connection.in_atomic_block else _take_deferred()
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT limits_take_free_slots(%s, %s, %s, %s, %s){_async_commit()}",
                    [tags, run_param, owner, now(), freeing])
                status = cursor.fetchone()[0]
        except BaseException:
            _defer(freeing)
            raise
        if status == "acquired":
            _contended.difference_update(tags)  # nobody queued for them just now
        if status != "busy":
            return SlotDecision(status)
    with transaction.atomic():
        decision = _decide(task_run_id, tags, run_param, owner, seen)
    if decision.status != "wait":
        _queued_here.discard(str(task_run_id))
    return decision


def _still_waiting(task_run_id, tags: list[str], run_param, seen: int) -> SlotDecision | None:
    """A queued run that cannot go yet, found by reading without locks; else None.

    Every release wakes every waiter of its tags, and only the first in line can go: the others
    answer here with plain reads instead of queueing on the limits' locks (PostgreSQL) or the
    write lock (SQLite) behind it. A run that may go, or is not yet queued on every limit that
    blocks it, takes the careful path. Nothing is missed: ``seen`` predates these reads, so a
    slot freed after them still wakes the run. Slots and places of dead runs are reclaimed by
    the careful path of the first in line and by every process's heartbeat
    (:func:`reclaim_dead_slots`).
    """
    from django.db import connection

    limits_table, _, _ = _tables()
    marks = ", ".join(["%s"] * len(tags))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, tag, concurrency_limit FROM {limits_table} WHERE tag IN ({marks}) "
            "ORDER BY tag",
            tags,
        )
        limits = cursor.fetchall()
        if not limits or any(allowed == 0 for _, _, allowed in limits):
            return None
        held, queues = _occupancy(cursor, [limit_id for limit_id, _, _ in limits], run_param)
    blocked = _blocked(limits, held, queues)
    queued = {limit_id for limit_id, queue in queues.items() if any(m for m, _ in queue)}
    if not blocked or any(str(limit_id) not in queued for limit_id, *_ in blocked):
        return None  # it may go, or it must queue where it blocks: the careful path decides
    return _wait_decision(task_run_id, blocked, seen)


def _wait_decision(task_run_id, blocked: list[tuple], seen: int) -> SlotDecision:
    """Told to wait: remember the wake-up generation, and name the first tag that blocks."""
    with _released:
        if len(_wait_marks) > 10_000:  # runs re-queued elsewhere never came back here
            _wait_marks.clear()
            _queued_here.clear()
        _wait_marks[str(task_run_id)] = seen
        _queued_here.add(str(task_run_id))
    _, tag, allowed, holders, ahead = blocked[0]
    queue = f", {ahead} waiting ahead" if ahead else ""
    return SlotDecision(
        "wait",
        tag=tag,
        limit=allowed,
        holders=holders,
        message=f"Waiting for a slot of tag {tag!r}: {holders} of {allowed} in use{queue}.",
    )


def _async_commit() -> str:
    """PostgreSQL: a select-list item that lets a slot's own transaction commit without
    waiting for the WAL to reach the disk (a fifth of a millisecond here).

    Only for a transaction of the slot's own: the caller's transactions keep their
    durability. Other sessions see the slot at commit as always; only a crash of the database
    server itself could lose the last fraction of a second of slot changes, and they are
    rebuilt from what survives (a slot whose run ended, or whose owner died, is reclaimed).
    """
    from django.db import connection

    if connection.in_atomic_block:
        return ""
    return ", set_config('synchronous_commit', 'off', true)"


def _decide(task_run_id, tags: list[str], run_param, owner: str, seen: int) -> SlotDecision:
    """The careful path, inside a transaction: count, reclaim, queue, abort or take."""
    from django.db import connection, transaction
    from django.db.models import Min

    from limits.models import SlotWaiter

    limits_table, slots_table, waiters_table = _tables()
    marks = ", ".join(["%s"] * len(tags))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Lock first, count after (see the module's docstring).
            cursor.execute(
                f"SELECT id FROM {limits_table} WHERE tag IN ({marks}) ORDER BY tag FOR UPDATE",
                tags,
            )
        # Each limit with the slots other runs hold in it and the length of its wait queue.
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
            _insert_slots(cursor, [row[0] for row in rows], run_param, owner)
            return SlotDecision("acquired")
        limit_ids = [limit_id for limit_id, _, _ in limits]
        held, queues = _occupancy(cursor, limit_ids, run_param)
        blocked = _blocked(limits, held, queues)
        if blocked:  # make sure the slots and places ahead are real before waiting
            orm_ids = [uuid.UUID(str(limit_id)) for limit_id in limit_ids]
            if _reclaim(orm_ids) + _purge_waiters(orm_ids):
                # Those first in line may go now, and nobody else will tell them: the ended
                # run's own release, when it comes, finds nothing left to free.
                transaction.on_commit(notify_released)
            held, queues = _occupancy(cursor, limit_ids, run_param)
            blocked = _blocked(limits, held, queues)
        if blocked:
            # A run queued on several limits keeps the time it first queued in all of them:
            # two runs ordered differently in two queues would each wait for the other.
            enqueued = SlotWaiter.objects.filter(task_run_id=task_run_id).aggregate(
                first=Min("enqueued"))["first"] or now()
            waiting = {str(limit_id) for limit_id, *_ in blocked}
            for limit_id in waiting:
                if not any(is_mine for is_mine, _ in queues.get(limit_id, [])):
                    SlotWaiter.objects.get_or_create(
                        limit_id=uuid.UUID(limit_id),
                        task_run_id=task_run_id,
                        defaults={"enqueued": enqueued, "owner": owner},
                    )
            if connection.vendor == "postgresql":  # holders elsewhere: free them at once
                for _, blocked_tag, *_ in blocked:
                    cursor.execute(f"SELECT pg_notify('{_WANTED_CHANNEL}', %s)", [blocked_tag])
            return _wait_decision(task_run_id, blocked, seen)
        _insert_slots(cursor, limit_ids, run_param, owner)
        if any(is_mine for queue in queues.values() for is_mine, _ in queue):
            cursor.execute(f"DELETE FROM {waiters_table} WHERE task_run_id = %s", [run_param])
    return SlotDecision("acquired")


def _insert_slots(cursor, limit_ids: list, run_param, owner: str) -> None:
    from django.db import connection

    _, slots_table, _ = _tables()
    acquired = connection.ops.adapt_datetimefield_value(now())
    cursor.executemany(
        f"INSERT INTO {slots_table} (limit_id, task_run_id, acquired, owner) "
        "VALUES (%s, %s, %s, %s)",
        [(limit_id, run_param, acquired, owner) for limit_id in limit_ids],
    )


def release(task_run_id, tags: Iterable[str] | None = None) -> list[str]:
    """Free the run's slots and take it out of wait queues; the tags freed.

    Atomic by itself: in the caller's transaction if there is one, else in its own. On
    PostgreSQL, when the run's ``tags`` are given and nobody is known to wait for any of them,
    the release is deferred instead (see :func:`release_deferred`) and nothing is returned:
    it then costs no round trip of its own, and the slot stays counted a little longer, which
    can make a newcomer wait but never lets too many in.
    """
    from django.db import connection, transaction

    limits_table, slots_table, waiters_table = _tables()
    run_param = _run_id_param(task_run_id)
    if _wait_marks or _queued_here:
        with _released:
            _wait_marks.pop(str(task_run_id), None)
            _queued_here.discard(str(task_run_id))
    if connection.vendor == "postgresql" and tags is not None and _can_defer(tags):
        _defer([run_param])
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            tags = _free(cursor, [run_param], async_commit=_async_commit())
        if tags:
            _local.notified = True
        return tags
    with transaction.atomic(), connection.cursor() as cursor:
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


def _can_defer(tags: Iterable[str]) -> bool:
    from django.db import connection

    return not connection.in_atomic_block and _listening() and _contended.isdisjoint(tags)


def _defer(run_params: list) -> None:
    global _deferred_since
    if not run_params:
        return
    with _deferred_lock:
        if not _deferred:
            _deferred_since = time.monotonic()
        _deferred.extend(run_params)


def _take_deferred() -> list:
    with _deferred_lock:
        taken = list(_deferred)
        _deferred.clear()
    return taken


def _free(cursor, run_params: list, async_commit: str = "") -> list[str]:
    """PostgreSQL, one round trip: free the slots of ``run_params`` and take them out of wait
    queues; the tags freed. The NOTIFY that wakes waiters goes out when the transaction commits."""
    limits_table, slots_table, waiters_table = _tables()
    cursor.execute(
        f"WITH freed AS (DELETE FROM {slots_table} WHERE task_run_id = ANY(%s) "
        f"RETURNING limit_id), left_queue AS (DELETE FROM {waiters_table} "
        f"WHERE task_run_id = ANY(%s) RETURNING 1) "
        f"SELECT l.tag, pg_notify('{_NOTIFY_CHANNEL}', ''){async_commit} FROM freed "
        f"JOIN {limits_table} l ON l.id = freed.limit_id",
        [run_params, run_params],
    )
    return [row[0] for row in cursor.fetchall()]


def _free_deferred(cursor) -> None:
    """Free what this process deferred, with ``cursor``; on failure it stays deferred."""
    freeing = _take_deferred()
    if not freeing:
        return
    try:
        _free(cursor, freeing)
    except BaseException:
        _defer(freeing)
        raise


def release_deferred() -> None:
    """Free now the slots whose release this process deferred (PostgreSQL; at the end of a
    flow run, so that it ends with its slots given back, and at exit)."""
    from django.db import connection

    if _deferred:
        with connection.cursor() as cursor:
            _free_deferred(cursor)


def _release_deferred_at_exit() -> None:
    try:
        release_deferred()
    except Exception as exc:  # the database may be gone; the slots' owner is then dead anyway
        logger.error("Could not free deferred concurrency slots at exit: %s", exc)


atexit.register(_release_deferred_at_exit)


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


def _listening() -> bool:
    return _listener is not None and _listener.is_alive()


def separate_connection(autocommit: bool = True):
    """PostgreSQL: a psycopg connection of its own to Django's database, outside Django's
    connection handling (the listener's, and a test's "other process")."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=autocommit)


def _ensure_listener() -> bool:
    """A thread that LISTENs on PostgreSQL and turns NOTIFY into a local wake-up; it also frees
    the slots whose release was deferred, soon, or at once when a run elsewhere waits."""
    if _listening():
        return True
    with _listener_lock:  # threads starting their first limited runs together start one
        return _listening() or _start_listener()


def _start_listener() -> bool:
    global _listener
    try:
        listen_conn = separate_connection()
        listen_conn.execute(f"LISTEN {_NOTIFY_CHANNEL}")
        listen_conn.execute(f"LISTEN {_WANTED_CHANNEL}")
    except Exception:
        logger.debug("LISTEN unavailable; waiters poll", exc_info=True)
        return False

    def listen() -> None:
        global _generation
        try:
            while True:
                wanted = False
                tick = min(DEFERRED_RELEASE_SECONDS / 2, 0.05)
                # One packet at a time, each read whole (leaving the generator early would drop
                # the rest of its packet, a wake-up among them), then free what is held back.
                for notify in listen_conn.notifies(timeout=tick, stop_after=1):
                    if notify.channel == _WANTED_CHANNEL:
                        _contended.add(notify.payload)
                        wanted = True
                        continue
                    with _released:
                        _generation += 1
                        _released.notify_all()
                if _deferred and (
                    wanted or time.monotonic() - _deferred_since >= DEFERRED_RELEASE_SECONDS
                ):
                    try:
                        _free_deferred(listen_conn.cursor())
                    except Exception:  # they stay deferred; the thread must go on listening
                        if listen_conn.closed:
                            raise
                        logger.warning("Could not free deferred slots yet", exc_info=True)
        except Exception:
            logger.debug("LISTEN connection closed", exc_info=True)

    _listener = threading.Thread(target=listen, name="runs-slot-listener", daemon=True)
    _listener.start()
    return True


def reclaim_dead_slots() -> int:
    """Free every slot whose run ended or whose owner died, and drop such runs from wait
    queues (the runs behind them move up); the number of slots freed."""
    from django.db import transaction

    from limits.models import ConcurrencyLimit

    with transaction.atomic():
        limit_ids = list(ConcurrencyLimit.objects.values_list("id", flat=True))
        freed = _reclaim(limit_ids)
        purged = _purge_waiters(limit_ids)
    if freed or purged:
        notify_released()
    return freed
