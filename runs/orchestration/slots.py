"""Concurrency slots as the engines see them: waiting for one, and giving back deferred ones.

Slots are taken and freed by the policy's rules (``rules/slots.py``); the engines only wait
when the policy answered "wait", and free at the end of a flow run what was left to free
later. They ask here instead of reaching into :mod:`runs_limits.slots`.
"""

from __future__ import annotations

from runs import conf
from runs.orchestration.records import TaskRunRecord


def wait_for_slot(record: TaskRunRecord, timeout: float | None = None) -> None:
    """Sleep until a slot for ``record``'s tags may have been freed, at most ``timeout``
    seconds (default: RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS); then propose again."""
    from runs_limits.slots import wait_for_slot as wait

    if timeout is None:
        timeout = conf.settings.RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS
    wait(record.id, record.tags, timeout)


def release_deferred() -> None:
    """Free now the slots whose release this process deferred (at the end of a flow run, so
    that it ends with its slots given back)."""
    from runs_limits.slots import release_deferred as release

    release()


def reclaim_dead_slots() -> int:
    """Free the slots of runs that ended or whose owner died; the number freed."""
    from runs_limits.slots import reclaim_dead_slots as reclaim

    return reclaim()


def on_slot_freed(callback) -> None:
    """Call ``callback`` (quick: it runs in the thread that heard it) whenever a slot may
    have freed here, or on PostgreSQL in another process."""
    from runs_limits.slots import on_slot_freed as hook

    hook(callback)


def start_listener() -> bool:
    """Hear other processes' releases now (PostgreSQL); whether this process hears them."""
    from runs_limits.slots import start_listener as start

    return start()
