"""Cache entries: the COMPLETED states that carry a cache key, and expiring them.

A cache entry is what the orchestration's cache rule looks up: a COMPLETED State row with a
``cache_key`` whose ``cache_expiration`` is unset or in the future (``runs.selectors.cache.live``,
where the entries are also listed). Expiring an entry sets that expiration to now on every
such row with the key, so the next run with the key runs the task; orchestration writes it
(``runs.orchestration.cache``), as it writes every state row.
"""

from __future__ import annotations

from runs.models import State
from runs.orchestration import cache as cache_entries


def expire_cache_key(*, cache_key: str) -> int:
    """Expire the entry with ``cache_key`` now (every state carrying it); the number expired."""
    return cache_entries.expire_entries(State.objects.filter(cache_key=cache_key, type="COMPLETED"))


def expire_task_cache(*, task_key: str) -> int:
    """Expire every cache entry written by runs of the task ``task_key``; the number expired."""
    return cache_entries.expire_entries(
        State.objects.filter(cache_key__isnull=False, type="COMPLETED", task_run__task_key=task_key)
    )
