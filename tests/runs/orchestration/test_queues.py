"""Work queues on real workers: a limit holds in the recorded history, a pause holds every run,
first come first served, and a worker serves only its own queues."""

from __future__ import annotations

import time
import uuid

import pytest

from runs.states import FINAL_TYPES
from tests.workers import start_worker

FINAL = {t.value for t in FINAL_TYPES}


@pytest.fixture(scope="module")
def nap_flow():
    from runs.registry import register_flow

    register_flow("tests.runs.queue_flows:nap")
    return "queue-nap"


def _queue(**options):
    from runs.services.work_queues import create_work_queue

    return create_work_queue(name=f"wq-{uuid.uuid4().hex[:8]}", **options)


def _wait_final(ids, timeout=60.0):
    from runs.models import FlowRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(FlowRun.objects.filter(id__in=ids).values_list("state_type", flat=True))
        if len(rows) == len(ids) and all(state in FINAL for state in rows):
            return
        time.sleep(0.05)
    raise AssertionError("the queue's runs did not all finish in time")


def _most_running_at_once(ids) -> int:
    """From the state history: the most of these runs RUNNING at one instant."""
    from runs.models import State

    events = []
    for run_id in ids:
        states = list(State.objects.filter(flow_run_id=run_id).order_by("timestamp", "id"))
        started = next(s.timestamp for s in states if s.type == "RUNNING")
        ended = next(s.timestamp for s in states if s.type in FINAL)
        events += [(started, 1), (ended, -1)]
    most = current = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at a tie
        current += step
        most = max(most, current)
    return most


def test_a_limit_of_two_never_has_more_than_two_running_in_the_history(tmp_path, nap_flow):
    from runs.services.flow_runs import start_flow_run

    queue = _queue(concurrency_limit=2)
    workers = [start_worker(tmp_path, queue=queue.name, concurrency=2) for _ in range(2)]
    try:
        ids = [
            start_flow_run(
                flow_name=nap_flow, parameters={"seconds": 0.2}, work_queue=queue.name
            ).id
            for _ in range(20)
        ]
        _wait_final(ids)
    finally:
        for worker in workers:
            worker.stop()
    from runs.models import FlowRun

    assert set(FlowRun.objects.filter(id__in=ids).values_list("state_type", flat=True)) == {
        "COMPLETED"
    }
    assert _most_running_at_once(ids) == 2
    # first come, first served: they started in the order they were sent
    starts = dict(FlowRun.objects.filter(id__in=ids).values_list("id", "dispatched_at"))
    assert [starts[i] for i in ids] == sorted(starts[i] for i in ids)


def test_a_paused_queue_starts_nothing_until_resumed_then_starts_in_order(tmp_path, nap_flow):
    from runs.models import FlowRun
    from runs.selectors.work_queues import queue_place
    from runs.services.flow_runs import start_flow_run
    from runs.services.work_queues import pause_work_queue, resume_work_queue

    queue = _queue(concurrency_limit=1)
    pause_work_queue(queue.name)
    worker = start_worker(tmp_path, queue=queue.name, concurrency=1)
    try:
        ids = [
            start_flow_run(
                flow_name=nap_flow, parameters={"seconds": 0.05}, work_queue=queue.name
            ).id
            for _ in range(4)
        ]
        time.sleep(0.5)  # a worker is there; a paused queue still sends nothing
        rows = FlowRun.objects.filter(id__in=ids)
        assert set(rows.values_list("state_type", flat=True)) == {"SCHEDULED"}
        place = queue_place(FlowRun.objects.get(id=ids[2]))
        assert (place.place, place.paused) == (3, True)
        resume_work_queue(queue.name)
        _wait_final(ids)
    finally:
        worker.stop()
    starts = dict(FlowRun.objects.filter(id__in=ids).values_list("id", "start_time"))
    assert [starts[i] for i in ids] == sorted(starts.values())


def test_a_limit_of_zero_holds_runs_without_aborting_them(nap_flow):
    from runs.models import FlowRun
    from runs.services.flow_runs import cancel_flow_run, start_flow_run

    queue = _queue(concurrency_limit=0)
    run = start_flow_run(flow_name=nap_flow, work_queue=queue.name)
    run.refresh_from_db()
    assert (run.state_type, run.dispatched_at) == ("SCHEDULED", None)
    cancel_flow_run(flow_run_id=run.id)
    assert FlowRun.objects.get(id=run.id).state_type == "CANCELLED"


def test_a_worker_on_queue_a_never_takes_a_run_of_queue_b(tmp_path, nap_flow):
    from runs.models import FlowRun
    from runs.services.flow_runs import start_flow_run

    queue_a, queue_b = _queue(), _queue()
    worker_a = start_worker(tmp_path, queue=queue_a.name, concurrency=1)
    try:
        run_b = start_flow_run(
            flow_name=nap_flow, parameters={"seconds": 0}, work_queue=queue_b.name
        )
        run_a = start_flow_run(
            flow_name=nap_flow, parameters={"seconds": 0}, work_queue=queue_a.name
        )
        _wait_final([run_a.id])
        time.sleep(0.3)
        assert FlowRun.objects.get(id=run_b.id).state_type == "SCHEDULED"
        worker_b = start_worker(tmp_path, queue=queue_b.name, concurrency=1)
        try:
            _wait_final([run_b.id])
        finally:
            worker_b.stop()
    finally:
        worker_a.stop()
    assert FlowRun.objects.get(id=run_b.id).state_type == "COMPLETED"


def test_a_place_held_by_a_killed_worker_is_freed_and_the_next_run_starts(tmp_path, nap_flow):
    from runs.leases import ensure_heartbeat
    from runs.models import FlowRun
    from runs.services.dispatch import dispatch
    from runs.services.flow_runs import start_flow_run

    ensure_heartbeat()  # this process reaps the runs of dead processes, as any process does
    queue = _queue(concurrency_limit=1)
    doomed_worker = start_worker(tmp_path, queue=queue.name, concurrency=1)
    try:
        doomed = start_flow_run(
            flow_name=nap_flow, parameters={"seconds": 60}, work_queue=queue.name
        )
        after = start_flow_run(flow_name=nap_flow, parameters={"seconds": 0}, work_queue=queue.name)
        deadline = time.monotonic() + 30
        while FlowRun.objects.get(id=doomed.id).state_type != "RUNNING":
            assert time.monotonic() < deadline, doomed_worker.log()
            time.sleep(0.05)
        doomed_worker.kill()
    finally:
        doomed_worker.stop()
    _wait_final([doomed.id], timeout=30)  # reaped: its lease lapsed and its process is gone
    assert FlowRun.objects.get(id=doomed.id).state_type == "CRASHED"
    assert FlowRun.objects.get(id=after.id).dispatched_at is None
    dispatch()  # what the scheduler's every pass does
    worker = start_worker(tmp_path, queue=queue.name, concurrency=1)
    try:
        _wait_final([after.id])
    finally:
        worker.stop()
    assert FlowRun.objects.get(id=after.id).state_type == "COMPLETED"
    assert _most_running_at_once([doomed.id, after.id]) == 1
