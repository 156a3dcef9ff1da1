"""Work queues' places: which waiting flow runs start now, decided in one short transaction.

A flow run sent to a work queue waits SCHEDULED until its expected start time has come and its
queue has room. A run holds a place from the moment the queue sends it (``dispatched_at``)
until it reaches a final state, so a place is freed by the same write that records the final
state, whoever writes it (the worker, a cancel, the reaper of a dead process). Room is counted
under a lock on the queue's row (PostgreSQL) or SQLite's one write lock, so any number of
processes deciding for one queue decide in turn; the oldest due run goes first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from runs.orchestration.writer import writer
from runs.states import FINAL_TYPES, now

#: The most runs one decision sends, so that a queue with no limit and a long line answers
#: quickly; the caller asks again while runs are sent.
MAX_SENT_AT_ONCE = 500

_FINAL = sorted(t.value for t in FINAL_TYPES)


@dataclass(frozen=True)
class Sent:
    """A flow run its queue let start: its id, its parameters and the Celery queue to send to."""

    flow_run_id: Any
    parameters: dict[str, Any]
    queue_name: str


def take_places(queue_id: int, *, at: dt.datetime | None = None) -> list[Sent]:
    """Give the queue's free places to its oldest due waiting runs, and return them to send.

    Nothing is sent for a paused queue or one at its limit (a limit of 0 holds everything).
    """
    from django.db import transaction

    from runs.models import FlowRun, WorkQueue
    from runs.orchestration.writer import apart_from_caller, run_apart

    if apart_from_caller():  # decided where the run history is written (a host's transaction)
        return run_apart(lambda: take_places(queue_id, at=at))
    at = at or now()
    with writer.serialized(), transaction.atomic():
        # the lock first, the count in a later statement: under READ COMMITTED a statement that
        # waited for the lock would keep its older snapshot and miss a place just taken
        queue = (
            WorkQueue.objects.select_for_update()
            .filter(id=queue_id)
            .values("name", "paused", "concurrency_limit")
            .first()
        )
        if queue is None or queue["paused"]:
            return []
        room = MAX_SENT_AT_ONCE
        if queue["concurrency_limit"] is not None:
            held = held_places(queue_id)
            room = min(room, queue["concurrency_limit"] - held)
        if room <= 0:
            return []
        chosen = list(waiting_runs(queue_id, at=at).values_list("id", "parameters")[:room])
        if chosen:
            FlowRun.objects.filter(id__in=[run_id for run_id, _ in chosen]).update(dispatched_at=at)
    return [Sent(run_id, parameters, queue["name"]) for run_id, parameters in chosen]


def place_at_once(queue_id: int, at: dt.datetime) -> bool:
    """Whether a run being made now, due at ``at``, may take a place in its queue at once:
    the queue is not paused, has room, and no due run waits ahead of it. Call it inside the
    transaction that makes the run: the queue's row is locked until that transaction ends."""
    from runs.models import WorkQueue

    queue = (
        WorkQueue.objects.select_for_update()
        .filter(id=queue_id)
        .values("paused", "concurrency_limit")
        .first()
    )
    if queue is None or queue["paused"]:
        return False
    limit = queue["concurrency_limit"]
    if limit is not None and held_places(queue_id) >= limit:
        return False
    return not waiting_runs(queue_id, at=at).exists()


def held_places(queue_id: int) -> int:
    """How many of the queue's runs hold a place: sent and not final."""
    from runs.models import FlowRun

    return (
        FlowRun.objects.filter(work_queue_id=queue_id, dispatched_at__isnull=False)
        .exclude(state_type__in=_FINAL)
        .count()
    )


def waiting_runs(queue_id: int, *, at: dt.datetime | None = None):
    """The queue's runs waiting for a place, first come first served; with ``at``, only those
    whose expected start time has come."""
    from runs.models import FlowRun

    rows = FlowRun.objects.filter(
        work_queue_id=queue_id, dispatched_at__isnull=True, state_type="SCHEDULED"
    )
    if at is not None:
        rows = rows.filter(expected_start_time__lte=at)
    return rows.order_by("expected_start_time", "created", "id")


def queues_with_due_runs(at: dt.datetime | None = None) -> list[int]:
    """The ids of the queues that have a run waiting whose time has come."""
    from runs.models import FlowRun, WorkQueue

    at = at or now()
    due = FlowRun.objects.filter(
        dispatched_at__isnull=True,
        state_type="SCHEDULED",
        expected_start_time__lte=at,
        work_queue_id__isnull=False,
    )
    return list(
        WorkQueue.objects.filter(paused=False, id__in=due.values("work_queue_id")).values_list(
            "id", flat=True
        )
    )


def queue_of(flow_run_id: Any) -> int | None:
    """The id of the work queue a flow run holds a place in (None: not queued)."""
    from runs.models import FlowRun

    return (
        FlowRun.objects.filter(id=flow_run_id, dispatched_at__isnull=False)
        .values_list("work_queue_id", flat=True)
        .first()
    )
