"""Cache entries: the one definition of a live entry, and the entries the cache page lists.

A cache entry is a COMPLETED State row with a ``cache_key``; it is live while its
``cache_expiration`` is unset or in the future. The same test holds for a task run's own
``cache_expiration``. (The orchestration's cache rule asks the same question in raw SQL on its
hot path; it sits below this layer.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from runs.models import State
from runs.orchestration import cache as orchestration_cache
from runs.results import result_size
from runs.states import now


def live(at: dt.datetime | None = None) -> Q:
    """The rows (State or TaskRun) whose cache has not expired at ``at`` (default: now);
    orchestration's definition (``runs.orchestration.cache.live``), which expires them."""
    return orchestration_cache.live(at)


def is_expired(expiration: dt.datetime | None, at: dt.datetime | None = None) -> bool:
    """Whether a cache that expires at ``expiration`` (None: never) has expired at ``at``."""
    return expiration is not None and expiration <= (now() if at is None else at)


def live_entries(states: QuerySet[State], at: dt.datetime | None = None) -> QuerySet[State]:
    """The states of ``states`` that are live cache entries at ``at`` (default: now)."""
    return states.filter(live(at))


@dataclass
class CacheEntry:
    """One cached result: the state that stored it and the task run that produced it."""

    state_id: int
    cache_key: str
    task_run_id: object
    task_run_name: str
    task_name: str
    task_key: str
    created: dt.datetime
    expires: dt.datetime | None
    result_key: str
    size: int | None

    @property
    def is_expired(self) -> bool:
        return is_expired(self.expires)


def cache_entries(
    *, search: str = "", include_expired: bool = False, limit: int = 200
) -> list[CacheEntry]:
    """Cache entries, newest first: task, key, created, expiry and size of the stored result.

    ``search`` matches the task name or the cache key (case-insensitive, substring).
    """
    rows = (
        State.objects.filter(
            cache_key__isnull=False, type="COMPLETED", task_run__isnull=False, name="Completed"
        )
        .select_related("task_run")
        .order_by("-timestamp", "-id")
    )
    if not include_expired:
        rows = live_entries(rows)
    if search:
        rows = rows.filter(
            Q(cache_key__icontains=search) | Q(task_run__task_name__icontains=search)
        )
    entries = []
    for state in rows[:limit]:
        run = state.task_run
        entries.append(
            CacheEntry(
                state_id=state.id,
                cache_key=state.cache_key,
                task_run_id=run.id,
                task_run_name=run.name,
                task_name=run.task_name,
                task_key=run.task_key,
                created=state.timestamp,
                expires=state.cache_expiration,
                result_key=state.result_key,
                size=result_size(state.result_key) if state.result_key else None,
            )
        )
    return entries
