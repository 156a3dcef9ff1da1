"""A timed-out task with retries left is retried on a Celery worker too."""

from __future__ import annotations

from runs import flow
from runs.models import State as StateRow
from runs.runners.celery import CeleryTaskRunner
from tests.runs.engine import celery_tasks
from tests.workers import start_worker


def test_timed_out_task_on_a_worker_is_retried(tmp_path):
    worker = start_worker(tmp_path, concurrency=1)
    counter = tmp_path / "attempts"
    try:

        @flow(task_runner=CeleryTaskRunner(queue=worker.queue))
        def on_a_worker():
            return {"state": celery_tasks.times_out_once.submit(str(counter)).wait()}

        state = on_a_worker()["state"]
    finally:
        worker.stop()
    assert state.is_completed(), state
    assert state.result() == 2
    history = list(
        StateRow.objects.filter(task_run_id=state.task_run_id)
        .order_by("timestamp", "id")
        .values_list("name", flat=True)
    )
    assert history == ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]
