"""Concurrency slots: acquired all at once or not at all, served first come first served, freed on exit.

Locking, chosen per database so that slots stay exact under contention:

- **SQLite**: the orchestration's transaction is ``IMMEDIATE``: it holds the database's single
  write lock from its first statement, so two acquirers (threads or processes) can never both
  count the same free slot.
- **PostgreSQL**: the limit rows of the run's tags are locked with ``SELECT ... FOR UPDATE``,
  always in tag order, so two runs wanting [a, b] and [b, a] queue on ``a`` instead of
  deadlocking.

A slot belongs to a task run that is RUNNING under a process whose lease is alive; any other
slot is reclaimed before counting. Waiters wait in :class:`~limits.models.SlotWaiter` rows,
oldest first; a run that frees a slot wakes the waiters of this process at once (a condition
variable), of other processes through PostgreSQL ``NOTIFY`` or, on SQLite, by their short poll.
"""

from __future__ import annotations

import logging
import threading
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


@dataclass(frozen=True)
class SlotDecision:
    """The answer to a request for slots."""

    status: str  # "acquired" | "wait" | "abort" | "unlimited"
    tag: str | None = None
    limit: int | None = None
    holders: int = 0
    message: str = ""


def any_limited(tags: Iterable[str]) -> bool:
    """Whether any of ``tags`` has a limit (no query for an empty list)."""
    tags = list(tags)
    if not tags:
        return False
    from limits.models import ConcurrencyLimit

    return ConcurrencyLimit.objects.filter(tag__in=tags).exists()


def _live_owners():
    from runs.models import ProcessLease

    return ProcessLease.objects.filter(expires__gt=now()).values("owner")


def _reclaim(limit_ids: list) -> int:
    """Delete slots of these limits whose holder is not RUNNING or whose process's lease lapsed."""
    from django.db.models import Q

    from limits.models import ConcurrencySlot

    dead = ConcurrencySlot.objects.filter(limit_id__in=limit_ids).filter(
        ~Q(task_run__state_type="RUNNING") | ~Q(task_run__owner__in=_live_owners())
    )
    count, _ = dead.delete()
    return count


def _purge_waiters(limit_ids: list) -> None:
    """Drop waiters whose run no longer waits (finished elsewhere, or its process died)."""
    from django.db.models import Q

    from limits.models import SlotWaiter

    SlotWaiter.objects.filter(limit_id__in=limit_ids).filter(
        ~Q(task_run__state_type="PENDING") | (~Q(owner="") & ~Q(owner__in=_live_owners()))
    ).delete()


def acquire(task_run_id, tags: Iterable[str]) -> SlotDecision:
    """Inside the caller's transaction: a slot of every limited tag of the run, or none.

    Returns ``acquired``, ``wait`` (naming the blocking tag), ``abort`` (a limit of 0) or
    ``unlimited`` (no tag has a limit).
    """
    from django.db import connection

    from limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter
    from runs.leases import current_owner

    query = ConcurrencyLimit.objects.filter(tag__in=list(tags)).order_by("tag")
    if connection.vendor == "postgresql":
        query = query.select_for_update()
    limits = list(query)
    if not limits:
        return SlotDecision("unlimited")
    for limit in limits:
        if limit.concurrency_limit == 0:
            SlotWaiter.objects.filter(task_run_id=task_run_id).delete()
            return SlotDecision(
                "abort", tag=limit.tag, limit=0,
                message=f"The concurrency limit of tag {limit.tag!r} is 0: task runs with this "
                        "tag are aborted, never run. Raise the limit with "
                        f"`runs concurrency-limit create {limit.tag} N` to let them run.")
    limit_ids = [limit.id for limit in limits]
    _reclaim(limit_ids)
    _purge_waiters(limit_ids)
    mine = dict(SlotWaiter.objects.filter(task_run_id=task_run_id, limit_id__in=limit_ids)
                .values_list("limit_id", "enqueued"))
    blocked: list[tuple] = []
    for limit in limits:
        holders = ConcurrencySlot.objects.filter(limit=limit).exclude(
            task_run_id=task_run_id).count()
        waiters = SlotWaiter.objects.filter(limit=limit).exclude(task_run_id=task_run_id)
        if limit.id in mine:
            waiters = waiters.filter(enqueued__lt=mine[limit.id])
        ahead = waiters.count()
        if holders + ahead >= limit.concurrency_limit:
            blocked.append((limit, holders, ahead))
    if blocked:
        current = now()
        owner = current_owner()
        for limit, _, _ in blocked:
            if limit.id not in mine:
                SlotWaiter.objects.get_or_create(
                    limit=limit, task_run_id=task_run_id,
                    defaults={"enqueued": current, "owner": owner},
                )
        limit, holders, ahead = blocked[0]
        queue = f", {ahead} waiting ahead" if ahead else ""
        return SlotDecision(
            "wait", tag=limit.tag, limit=limit.concurrency_limit, holders=holders,
            message=f"Waiting for a slot of tag {limit.tag!r}: {holders} of "
                    f"{limit.concurrency_limit} in use{queue}.")
    current = now()
    ConcurrencySlot.objects.bulk_create(
        [ConcurrencySlot(limit=limit, task_run_id=task_run_id, acquired=current)
         for limit in limits],
        ignore_conflicts=True,
    )
    if mine:
        SlotWaiter.objects.filter(task_run_id=task_run_id).delete()
    return SlotDecision("acquired")


def release(task_run_id) -> list[str]:
    """Inside the caller's transaction: free the run's slots and leave wait queues; the tags freed."""
    from limits.models import ConcurrencySlot, SlotWaiter

    slots = ConcurrencySlot.objects.filter(task_run_id=task_run_id)
    tags = list(slots.values_list("limit__tag", flat=True))
    if tags:
        slots.delete()
    SlotWaiter.objects.filter(task_run_id=task_run_id).delete()
    return tags


def notify_released(tags: Iterable[str] = ()) -> None:
    """After commit: wake the waiters of this process now, and those of other processes."""
    global _generation
    with _released:
        _generation += 1
        _released.notify_all()
    from django.db import connection

    if connection.vendor == "postgresql":
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
        seen = _generation
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
