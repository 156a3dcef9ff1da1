"""Sending the flow runs their work queues let start to the workers that serve those queues."""

from __future__ import annotations

import logging
from collections.abc import Callable

from runs.orchestration.queues import MAX_SENT_AT_ONCE, queue_of, queues_with_due_runs, take_places

logger = logging.getLogger("runs.queues")


def dispatch(queue_id: int | None = None) -> int:
    """Send the waiting runs whose time has come and for which their queue has room (every
    queue's when ``queue_id`` is None); returns how many were sent.

    Each run goes to the Celery queue named after its work queue, where ``runs worker -Q NAME``
    takes it. Safe to call from any number of processes at once: a place is given once.
    """
    from runs.runners.messages import RUN_FLOW_RUN, send

    sent = 0
    for queue in [queue_id] if queue_id is not None else queues_with_due_runs():
        while True:
            places = take_places(queue)
            for place in places:
                send(
                    RUN_FLOW_RUN, [str(place.flow_run_id), place.parameters], queue=place.queue_name
                )
            sent += len(places)
            if len(places) < MAX_SENT_AT_ONCE:  # the queue is full or its line is empty
                break
    return sent


def dispatch_quietly(queue_id: int | None) -> None:
    """:func:`dispatch` for a caller whose own work is done (a run that ended, a cancel): a
    failure is logged, not raised; the scheduler's next pass sends what is left."""
    if queue_id is None:
        return
    try:
        dispatch(queue_id)
    except Exception:
        logger.warning("Could not start the next runs of work queue %s.", queue_id, exc_info=True)


def dispatch_after(flow_run_id: object) -> None:
    """Let the next runs of a flow run's queue start once it has ended (its place is free)."""
    try:
        queue_id = queue_of(flow_run_id)
    except Exception:
        logger.warning("Could not read the work queue of flow run %s.", flow_run_id, exc_info=True)
        return
    dispatch_quietly(queue_id)


def once_history_commits(send: Callable[[], object]) -> None:
    """Call ``send`` once the run history just written is visible to other processes: at once,
    unless it was written inside the caller's open transaction (SQLite, where the history
    follows it), then when that transaction commits (never, if it rolls back with the runs)."""
    from django.db import connection, transaction

    from runs.orchestration.writer import apart_from_caller

    if connection.in_atomic_block and not apart_from_caller():
        transaction.on_commit(send)
    else:
        send()
