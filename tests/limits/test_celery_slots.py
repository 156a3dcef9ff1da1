"""Tag concurrency limits across two real Celery workers (PostgreSQL and Redis in CI's second pass)."""

from __future__ import annotations

import uuid
from pathlib import Path

from runs import flow, tags
from runs.models import TaskRun
from runs.runners.celery import CeleryTaskRunner
from runs.states import StateType
from runs_limits.models import ConcurrencySlot
from runs_limits.services import create_limit, delete_limit_by_tag
from tests.limits.history import max_concurrency, running_spans
from tests.runs import celery_flows
from tests.workers import start_worker


def test_a_limit_of_two_holds_across_two_workers(tmp_path):
    tag = f"celery-limit-{uuid.uuid4().hex[:6]}"
    create_limit(tag=tag, concurrency_limit=2)
    queue = f"limits-{uuid.uuid4().hex[:6]}"
    workers = [start_worker(tmp_path, queue=queue), start_worker(tmp_path, queue=queue)]
    folder = tmp_path / "intervals"
    folder.mkdir()
    try:

        @flow(task_runner=CeleryTaskRunner(queue=queue))
        def limited():
            with tags(tag):
                futures = [
                    celery_flows.record_interval.submit(str(folder), i, 0.3) for i in range(8)
                ]
            return [f.result() for f in futures]

        assert sorted(limited()) == list(range(8))
    finally:
        for worker in workers:
            worker.stop()
        delete_limit_by_tag(tag=tag)
    intervals = [tuple(map(float, Path(p).read_text().split())) for p in folder.iterdir()]
    assert len(intervals) == 8
    assert max_concurrency(intervals) == 2  # four worker processes, but two slots
    assert max_concurrency(running_spans(tag)) == 2  # and the recorded history says so
    runs = TaskRun.objects.filter(tag_rows__tag=tag)
    assert runs.count() == 8
    assert set(runs.values_list("state_type", flat=True)) == {StateType.COMPLETED}
    assert not ConcurrencySlot.objects.filter(task_run__in=runs).exists()
    waited = runs.filter(states__name="AwaitingConcurrencySlot").distinct().count()
    assert waited >= 1
