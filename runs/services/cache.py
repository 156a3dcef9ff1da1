"""Cache entries: the COMPLETED states that carry a cache key, and expiring them.

A cache entry is what the orchestration's cache rule looks up: a COMPLETED State row with a
``cache_key`` whose ``cache_expiration`` is unset or in the future. Expiring an entry sets that
expiration to now on every such row with the key, so the next run with the key runs the task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from runs.models import State, TaskRun
from runs.results import result_size
from runs.states import now


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
        return self.expires is not None and self.expires <= now()


def list_cache_entries(*, search: str = "", include_expired: bool = False,
                       limit: int = 200) -> list[CacheEntry]:
    """Cache entries, newest first: task, key, created, expiry and size of the stored result.

    ``search`` matches the task name or the cache key (case-insensitive, substring).
    """
    rows = (State.objects.filter(cache_key__isnull=False, type="COMPLETED",
                                 task_run__isnull=False, name="Completed")
            .select_related("task_run").order_by("-timestamp", "-id"))
    if not include_expired:
        rows = rows.filter(Q(cache_expiration__isnull=True) | Q(cache_expiration__gt=now()))
    if search:
        rows = rows.filter(Q(cache_key__icontains=search) | Q(task_run__task_name__icontains=search))
    entries = []
    for state in rows[:limit]:
        run = state.task_run
        entries.append(CacheEntry(
            state_id=state.id, cache_key=state.cache_key, task_run_id=run.id,
            task_run_name=run.name, task_name=run.task_name, task_key=run.task_key,
            created=state.timestamp, expires=state.cache_expiration,
            result_key=state.result_key,
            size=result_size(state.result_key) if state.result_key else None,
        ))
    return entries


def _expire(states) -> int:
    moment = now()
    live = states.filter(Q(cache_expiration__isnull=True) | Q(cache_expiration__gt=moment))
    with transaction.atomic():
        run_ids = list(live.exclude(task_run__isnull=True).values_list("task_run_id", flat=True))
        count = live.update(cache_expiration=moment)
        TaskRun.objects.filter(id__in=run_ids).filter(
            Q(cache_expiration__isnull=True) | Q(cache_expiration__gt=moment)
        ).update(cache_expiration=moment)
    return count


def expire_cache_key(*, cache_key: str) -> int:
    """Expire the entry with ``cache_key`` now (every state carrying it); the number expired."""
    return _expire(State.objects.filter(cache_key=cache_key, type="COMPLETED"))


def expire_task_cache(*, task_key: str) -> int:
    """Expire every cache entry written by runs of the task ``task_key``; the number expired."""
    return _expire(State.objects.filter(cache_key__isnull=False, type="COMPLETED",
                                        task_run__task_key=task_key))
