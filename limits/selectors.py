"""Reading concurrency limits, the runs holding their slots and the runs waiting for them."""

from __future__ import annotations

from django.db.models import QuerySet

from runs.exceptions import ObjectNotFound
from runs_limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter


def list_limits() -> QuerySet[ConcurrencyLimit]:
    """Every limit, by tag, with its slots prefetched."""
    return ConcurrencyLimit.objects.order_by("tag").prefetch_related("slots")


def get_limit_by_tag(tag: str) -> ConcurrencyLimit:
    """The limit of ``tag``; ObjectNotFound if the tag has none."""
    limit = ConcurrencyLimit.objects.filter(tag=tag).first()
    if limit is None:
        raise ObjectNotFound(f"No concurrency limit on tag {tag!r}.")
    return limit


def get_limit(limit_id) -> ConcurrencyLimit:
    """The limit with this id; ObjectNotFound if there is none."""
    limit = ConcurrencyLimit.objects.filter(id=limit_id).first()
    if limit is None:
        raise ObjectNotFound(f"No concurrency limit has id {limit_id}.")
    return limit


def active_slots(limit: ConcurrencyLimit) -> list:
    """Ids of the task runs holding a slot of ``limit``, oldest first."""
    return [slot.task_run_id for slot in sorted(limit.slots.all(), key=lambda s: s.acquired)]


def holders(limit: ConcurrencyLimit) -> QuerySet[ConcurrencySlot]:
    """The slots of ``limit`` with their task runs (name, start time)."""
    return limit.slots.select_related("task_run").order_by("acquired")


def waiters(limit: ConcurrencyLimit) -> QuerySet[SlotWaiter]:
    """The task runs waiting for ``limit``, first in line first."""
    return limit.waiters.select_related("task_run").order_by("enqueued", "id")


def tag_has_limit(tag: str, *, other_than: ConcurrencyLimit | None = None) -> bool:
    """Whether ``tag`` has a limit (one other than ``other_than``, when given)."""
    limits = ConcurrencyLimit.objects.filter(tag=tag)
    if other_than is not None:
        limits = limits.exclude(id=other_than.id)
    return limits.exists()
