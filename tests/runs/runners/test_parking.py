"""Runs that wait for a concurrency slot on real workers: parked, woken when a slot frees, and
carried in chunks with their retries and tags (SQLite and the filesystem broker, or in CI's
second pass PostgreSQL and Redis)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from runs import flow, tags, task, unmapped
from runs.models import ParkedTaskRun, TaskRun
from runs.runners.celery import CeleryTaskRunner
from runs.states import StateType
from runs_limits.services import create_limit, delete_limit_by_tag
from tests.limits.history import max_concurrency, running_spans
from tests.runs import celery_flows
from tests.workers import workers_on_a_queue


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """Two ``runs worker`` processes (two pool processes each) on a queue of this module."""
    with workers_on_a_queue(tmp_path_factory.mktemp("parking-workers"), "parking") as started:
        yield started


def new_limit(allowed: int) -> str:
    tag = f"park-{uuid.uuid4().hex[:8]}"
    create_limit(tag=tag, concurrency_limit=allowed)
    return tag


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_waiting_run_is_parked_once_and_goes_when_the_slot_frees(workers, tmp_path):
    tag = new_limit(1)
    queue = workers[0].queue
    gate = threading.Event()

    @task(tags=[tag])
    def hold_the_slot():
        gate.wait(30)

    @flow
    def holder():
        hold_the_slot()

    @flow(task_runner=CeleryTaskRunner(queue=queue))
    def waiters():
        with tags(tag):
            futures = [celery_flows.double.submit(i) for i in range(2)]
        return [f.result(timeout=60) for f in futures]

    held = threading.Thread(target=holder)
    held.start()
    results = []
    try:
        wait_until(lambda: TaskRun.objects.filter(tag_rows__tag=tag, state_type="RUNNING").exists())
        waiting = threading.Thread(target=lambda: results.append(waiters()))
        waiting.start()
        # Both wait: parked in the database, not sleeping in a worker nor sent round again.
        wait_until(lambda: ParkedTaskRun.objects.filter(task_run__tag_rows__tag=tag).count() == 2)
        time.sleep(1.5)  # longer than a worker's look at the parked runs
        assert ParkedTaskRun.objects.filter(task_run__tag_rows__tag=tag).count() == 2
        log = "".join(worker.log() for worker in workers)
        parked_lines = [line for line in log.splitlines() if "Parked until one frees" in line]
        assert len(parked_lines) == 2
        assert f"Waiting for a slot of tag '{tag}'" in parked_lines[0]  # names the run and why
        freed = time.monotonic()
        gate.set()
        waiting.join(30)
        assert results == [[0, 2]]
        assert time.monotonic() - freed < 10
    finally:
        gate.set()
        held.join(30)
        delete_limit_by_tag(tag=tag)
    assert not ParkedTaskRun.objects.filter(task_run__tag_rows__tag=tag).exists()
    assert max_concurrency(running_spans(tag)) == 1


def test_a_large_map_with_retries_and_a_limited_tag_travels_in_chunks(workers, tmp_path):
    tag = new_limit(2)
    queue = workers[0].queue
    folder = tmp_path / "intervals"
    folder.mkdir()

    @flow(task_runner=CeleryTaskRunner(queue=queue))
    def mapped(n: int):
        with tags(tag):
            futures = celery_flows.record_interval.with_options(retries=1).map(
                unmapped(str(folder)), range(n), 0.01
            )
        return [f.result(timeout=120) for f in futures]

    try:
        assert sorted(mapped(48)) == list(range(48))
    finally:
        delete_limit_by_tag(tag=tag)
    runs = TaskRun.objects.filter(tag_rows__tag=tag)
    assert runs.count() == 48
    assert set(runs.values_list("state_type", flat=True)) == {StateType.COMPLETED}
    assert max_concurrency(running_spans(tag)) <= 2
    assert not ParkedTaskRun.objects.filter(task_run__in=runs).exists()
    log = "".join(worker.log() for worker in workers)
    assert "runs.run_task_runs" in log  # chunks, not one message per run
