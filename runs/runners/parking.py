"""Task runs that wait for a concurrency slot on a Celery worker: parked, then sent again.

A worker does not sleep on a run that must wait (a pool process held idle), nor send its
message round again on a timer: it parks the message in the database (:func:`park`) and takes
other work. The run keeps its place in line. When a slot of its tags frees, the worker
process that hears it (the one that freed it, or on PostgreSQL any, through the slots'
``NOTIFY``) sends again the parked runs first in line, as many as there are free slots
(:func:`send_parked`). Each worker process also looks every ``LOOK_AGAIN_SECONDS``: on
SQLite, releases by other processes (a flow's own thread runner) are not heard.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Any

from runs.process import runtime
from runs.states import now

logger = logging.getLogger("runs.worker")

#: How often a worker process sends again the parked runs that may go when nothing woke it.
LOOK_AGAIN_SECONDS = 1.0
#: How long a woken sender waits before it looks, so the process that freed the slot runs
#: the next run itself first.
HEAD_START_SECONDS = 0.05


def park(task_run_id: Any, payload: str, queue: str | None) -> None:
    """Hold the message of a task run that waits for a slot until a slot frees."""
    from runs.models import ParkedTaskRun

    ParkedTaskRun.objects.update_or_create(
        task_run_id=task_run_id,
        defaults={"payload": payload, "queue": queue or "", "parked": now()},
    )


def send_parked() -> int:
    """Send again the parked runs that may take their slots now; how many were sent.

    Per limit, the first in line as many as it has free slots; a run queued on several limits
    goes when it is among them on every one. A parked run that lost its place in line (its
    worker process died) goes too, and queues again. A parked run that ended is dropped. Each
    is sent once: by the process whose delete of its row took it.
    """
    from runs.models import ParkedTaskRun, TaskRun
    from runs.states import FINAL_TYPES

    parked = set(ParkedTaskRun.objects.values_list("task_run_id", flat=True))
    if not parked:
        return 0
    ended = set(
        TaskRun.objects.filter(id__in=parked, state_type__in=FINAL_TYPES).values_list(
            "id", flat=True
        )
    )
    if ended:
        ParkedTaskRun.objects.filter(task_run_id__in=ended).delete()
        parked -= ended
    sent = 0
    for task_run_id in _may_go(parked):
        sent += _send(task_run_id)
    return sent


def take_parked(queue: str | None) -> tuple[Any, str] | None:
    """Claim for this process a parked run of ``queue`` that may take its slots now: its id
    and payload, or None. A worker process whose run just freed a slot runs the next one
    itself, without a trip through the broker."""
    from runs.models import ParkedTaskRun

    parked = set(
        ParkedTaskRun.objects.filter(queue=queue or "").values_list("task_run_id", flat=True)
    )
    for task_run_id in _may_go(parked) if parked else ():
        payload = _claim(task_run_id)
        if payload is not None:
            return task_run_id, payload[0]
    return None


def _claim(task_run_id: Any) -> tuple[str, str] | None:
    """The parked run's payload and queue, its row deleted by this process; None if another
    process took it first."""
    from runs.models import ParkedTaskRun

    row = ParkedTaskRun.objects.filter(task_run_id=task_run_id).values("payload", "queue").first()
    if row is None or not ParkedTaskRun.objects.filter(task_run_id=task_run_id).delete()[0]:
        return None
    return row["payload"], row["queue"]


def _may_go(parked: set) -> list:
    """Of the ``parked`` run ids, those first in line wherever they are queued, in order."""
    from django.db.models import Count

    from runs_limits.models import ConcurrencyLimit, SlotWaiter

    places = defaultdict(set)  # run id -> the limits it is queued on
    for limit_id, task_run_id in SlotWaiter.objects.filter(task_run_id__in=parked).values_list(
        "limit_id", "task_run_id"
    ):
        places[task_run_id].add(limit_id)
    limits = ConcurrencyLimit.objects.filter(
        id__in={limit_id for ids in places.values() for limit_id in ids}
    ).annotate(held=Count("slots"))
    room = {limit.id: limit.concurrency_limit - limit.held for limit in limits}
    first_in_line: dict[Any, set] = defaultdict(set)  # run id -> limits where it may go now
    for limit_id, free in room.items():
        if free <= 0:
            continue
        line = SlotWaiter.objects.filter(limit_id=limit_id).order_by("enqueued", "task_run_id")
        for task_run_id in line.values_list("task_run_id", flat=True)[:free]:
            first_in_line[task_run_id].add(limit_id)
    lost_place = [run for run in parked if run not in places]
    ready = [run for run, limit_ids in places.items() if first_in_line.get(run) == limit_ids]
    return lost_place + ready


def _send(task_run_id: Any) -> int:
    from runs.runners.messages import RUN_TASK_RUN
    from runs_project.celery import app

    claimed = _claim(task_run_id)
    if claimed is None:
        return 0  # another process took it
    payload, queue = claimed
    try:
        app.send_task(RUN_TASK_RUN, args=[payload], queue=queue or None)
    except Exception:
        park(task_run_id, payload, queue)  # sent by the next look instead
        raise
    logger.info("Task run %s may take its slot now: sent it again.", task_run_id)
    return 1


class ParkedSender:
    """This process's thread that sends parked runs again when a slot frees (or every
    ``LOOK_AGAIN_SECONDS``)."""

    def __init__(self) -> None:
        self._poke = threading.Event()
        self._hooked = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Hear freed slots (on PostgreSQL those of every process) and start the thread."""
        from runs.orchestration.slots import on_slot_freed, start_listener

        with self._lock:
            if not self._hooked:
                on_slot_freed(self.poke)
                self._hooked = True
        start_listener()
        runtime.ensure("parked-sender", self._loop)

    def poke(self) -> None:
        """Look now (a slot may have freed, or a run was just parked)."""
        self._poke.set()

    def _loop(self) -> None:
        from django.db import close_old_connections

        while True:
            if self._poke.wait(LOOK_AGAIN_SECONDS):
                # The worker process whose run freed the slot runs the next one itself if it
                # can (no trip through the broker): give it that head start.
                time.sleep(HEAD_START_SECONDS)
            self._poke.clear()
            try:
                send_parked()
            except Exception:
                logger.warning("Could not send parked task runs yet", exc_info=True)
                close_old_connections()


parked_sender = ParkedSender()
