"""Cache entries as the cache rule sees them: what is live, expiring it, keeping it apart.

A cache entry is a COMPLETED State row with a ``cache_key``; it is live while its
``cache_expiration`` is unset or in the future (the rule ``RestoreCachedResult`` asks the same
in raw SQL on its hot path). The state rows of entries change only here: expiring them now,
and detaching live ones from the task runs retention deletes.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from runs.orchestration.writer import writer
from runs.states import now


def live(at: dt.datetime | None = None) -> Q:
    """The rows (State or TaskRun) whose cache has not expired at ``at`` (default: now)."""
    moment = now() if at is None else at
    return Q(cache_expiration__isnull=True) | Q(cache_expiration__gt=moment)


def expire_entries(states: QuerySet) -> int:
    """Expire now the live cache entries among ``states``, and the cache fields of the task
    runs that wrote them; the number of entries expired.

    The rows this process still buffers are written first, so an entry a run of this process
    just completed is expired too instead of coming back live when the buffer is flushed.
    """
    from runs.models import TaskRun

    def expire() -> int:
        moment = now()
        entries = states.filter(live(moment))
        run_ids = list(entries.exclude(task_run__isnull=True).values_list("task_run_id", flat=True))
        count = entries.update(cache_expiration=moment)
        TaskRun.objects.filter(id__in=run_ids).filter(live(moment)).update(cache_expiration=moment)
        return count

    return writer.in_transaction(expire)


def detach_live_entries(states: QuerySet, at: dt.datetime) -> int:
    """Detach from their task runs the live cache entries among ``states`` (retention is about
    to delete the runs), so that they go on answering their key; the number detached. Call it
    inside the caller's transaction."""
    return (
        states.filter(type="COMPLETED", cache_key__isnull=False)
        .filter(live(at))
        .update(task_run=None)
    )


def delete_detached_entries(state_ids: list) -> int:
    """Delete detached cache entries (retention, once they expired); the number deleted."""
    from django.db import transaction

    from runs.models import State

    with transaction.atomic():
        return State.objects.filter(
            id__in=state_ids, task_run__isnull=True, flow_run__isnull=True
        ).delete()[0]
