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
from typing import Any

from runs.process import runtime
from runs.states import now

logger = logging.getLogger("runs.worker")

#: How often a worker process sends again the parked runs that may go when nothing woke it.
LOOK_AGAIN_SECONDS = 1.0
#: How long a parked run must have been free to go, as this sender saw it, before the sender
#: sends it through the broker: the worker process that freed the slot (or that parked the
#: run) runs it itself first, with no trip through the broker, and a message sent meanwhile
#: could wait behind other work in a busy worker's prefetch while its slot stays empty.
HANDOVER_GRACE_SECONDS = 0.25


def park(task_run_id: Any, payload: str, queue: str | None) -> None:
    """Hold the message of a task run that waits for a slot until a slot frees."""
    from runs.models import ParkedTaskRun

    ParkedTaskRun.objects.update_or_create(
        task_run_id=task_run_id,
        defaults={"payload": payload, "queue": queue or "", "parked": now()},
    )


def send_parked(ready_since: dict | None = None, grace: float = 0.0) -> int:
    """Send again the parked runs that may take their slots now; how many were sent.

    Per limit, the first in line as many as it has free slots; a run queued on several limits
    goes when it is among them on every one. A parked run that lost its place in line (its
    worker process died) goes too, and queues again. A parked run that ended is dropped. Each
    is sent once: by the process whose delete of its row took it.

    With ``ready_since`` (run id -> when it was first seen free to go, kept between calls),
    a run goes only once it has been free to go for ``grace`` seconds.
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
    ready = _may_go(parked)
    if ready_since is not None:
        seen = time.monotonic()
        for gone in set(ready_since) - set(ready):
            del ready_since[gone]
        for task_run_id in ready:
            ready_since.setdefault(task_run_id, seen)
        ready = [run for run in ready if seen - ready_since[run] >= grace]
    sent = 0
    for task_run_id in ready:
        sent += _send(task_run_id)
        if ready_since is not None:
            ready_since.pop(task_run_id, None)
    return sent


def take_parked(queue: str | None) -> tuple[Any, str] | None:
    """Claim for this process a parked run of ``queue`` that may take its slots now: its id
    and payload, or None. A worker process whose run just freed a slot runs the next one
    itself, without a trip through the broker. Parked runs whose flow run ended meanwhile are
    ended instead (:mod:`runs.orchestration.ended_flows`)."""
    from runs.models import ParkedTaskRun
    from runs.orchestration.ended_flows import end_runs_of_ended_flow_runs
    from runs.states import FINAL_TYPES
    from runs_limits import slots

    parked, ended = [], []
    for task_run_id, flow_type in ParkedTaskRun.objects.filter(queue=queue or "").values_list(
        "task_run_id", "task_run__flow_run__state_type"
    ):
        (ended if flow_type in FINAL_TYPES else parked).append(task_run_id)
    if ended:  # its flow run ended while it waited: it will never run
        ParkedTaskRun.objects.filter(task_run_id__in=ended).delete()
        end_runs_of_ended_flow_runs(ended)
    for task_run_id in slots.may_go_now(parked) if parked else ():
        claimed = _claim(task_run_id)
        if claimed is not None:
            return task_run_id, claimed[0]
    return None


def _claim(task_run_id: Any) -> tuple[str, str] | None:
    """The parked run's payload and queue, its row deleted by this process in one statement;
    None if another process took it first."""
    from django.db import connection

    from runs.models import ParkedTaskRun

    table = connection.ops.quote_name(ParkedTaskRun._meta.db_table)
    key = ParkedTaskRun._meta.pk.get_db_prep_value(task_run_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE task_run_id = %s RETURNING payload, queue", [key]
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


def _may_go(parked: set) -> list:
    """Of the ``parked`` run ids, those that lost their place in line (their worker process
    died: they queue again), then those that may take their slots now, in line order."""
    from runs_limits import slots
    from runs_limits.models import SlotWaiter

    queued = set(
        SlotWaiter.objects.filter(task_run_id__in=parked).values_list("task_run_id", flat=True)
    )
    return [run for run in parked if run not in queued] + slots.may_go_now(queued)


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

        ready_since: dict = {}  # parked runs free to go, as this thread last saw them
        while True:
            wait = HANDOVER_GRACE_SECONDS if ready_since else LOOK_AGAIN_SECONDS
            if self._poke.wait(wait):
                # Many releases a second wake it: it looks at most every grace period, as
                # the runs it finds free to go wait that long anyway.
                time.sleep(HANDOVER_GRACE_SECONDS)
            self._poke.clear()
            try:
                send_parked(ready_since, HANDOVER_GRACE_SECONDS)
            except Exception:
                logger.warning("Could not send parked task runs yet", exc_info=True)
                close_old_connections()


parked_sender = ParkedSender()
