"""CeleryTaskRunner against real ``runs worker`` processes on the session's broker and database.

On the embedded defaults that is the filesystem broker and SQLite; in CI's second pass, Redis and
PostgreSQL. Each test uses its own queue, so its workers only see its messages.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from runs import flow
from runs.models import State as StateRow
from runs.models import TaskRun
from runs.runners.celery import CeleryTaskRunner
from runs.states import StateType
from tests.runs import celery_flows
from tests.workers import start_worker, workers_on_a_queue


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """Two ``runs worker`` processes consuming one queue of this module."""
    with workers_on_a_queue(tmp_path_factory.mktemp("celery-workers"), "celery-tests") as workers:
        yield workers[0].queue


def test_mapped_flow_over_200_elements_records_each_run_once(two_workers):
    @flow(task_runner=CeleryTaskRunner(queue=two_workers))
    def mapped(n: int):
        futures = celery_flows.double.map(range(n))
        return [f.result() for f in futures], celery_flows.pid_of_worker.submit().result()

    results, worker_pid = mapped(200, return_state=True).result()
    assert results == [2 * i for i in range(200)]
    import os

    assert worker_pid != os.getpid()
    flow_run_id = TaskRun.objects.filter(task_name="pid_of_worker").latest("created").flow_run_id
    runs = TaskRun.objects.filter(flow_run_id=flow_run_id, task_name="double")
    assert runs.count() == 200
    assert sorted(runs.values_list("map_index", flat=True)) == list(range(200))
    assert set(runs.values_list("state_type", "run_count")) == {(StateType.COMPLETED, 1)}
    running_states = StateRow.objects.filter(task_run__in=runs, type=StateType.RUNNING).count()
    assert running_states == 200


def test_small_results_come_back_in_their_row_and_large_ones_in_a_file(two_workers):
    from runs.results import is_inline, storage_path

    @flow(task_runner=CeleryTaskRunner(queue=two_workers))
    def small_and_large():
        small, large = celery_flows.double.submit(21), celery_flows.text_of.submit("x", 5000)
        return small.result(), large.result()

    state = small_and_large(return_state=True)

    assert state.result() == (42, "x" * 5000)
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    small_key = runs.get(task_name="double").result_key
    large_key = runs.get(task_name="text_of").result_key
    assert is_inline(small_key) and not (storage_path() / small_key).exists()
    assert not is_inline(large_key) and (storage_path() / large_key).exists()


def test_failure_on_a_worker_reaches_the_caller_with_its_exception(two_workers):
    @flow(task_runner=CeleryTaskRunner(queue=two_workers))
    def failing():
        return celery_flows.explode.submit(7)

    state = failing(return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="cannot take 7"):
        state.result()


def test_retries_timeouts_and_caching_behave_as_in_the_process(two_workers, tmp_path):
    counter = tmp_path / "attempts"
    marker = tmp_path / "after-sleep"
    cache_counter = tmp_path / "cache-runs"
    x = uuid.uuid4().int % 10_000

    @flow(task_runner=CeleryTaskRunner(queue=two_workers))
    def behaviours():
        retried = celery_flows.fails_until_third_attempt.submit(str(counter))
        timed_out = celery_flows.sleeps_past_timeout.submit(str(marker))
        first = celery_flows.cached_square.submit(x, str(cache_counter)).wait()
        second = celery_flows.cached_square.submit(x, str(cache_counter)).wait()
        return {
            "retried": retried.wait(),
            "timed_out": timed_out.wait(),
            "first": first,
            "second": second,
        }

    states = behaviours()
    retried, timed_out, first, second = (
        states[k] for k in ("retried", "timed_out", "first", "second")
    )
    assert retried.is_completed() and retried.result() == 3
    run = TaskRun.objects.get(id=retried.task_run_id)
    assert run.run_count == 3
    names = list(
        StateRow.objects.filter(task_run=run)
        .order_by("timestamp", "id")
        .values_list("name", flat=True)
    )
    assert names.count("AwaitingRetry") == 2 and names.count("Retrying") == 2
    assert timed_out.name == "TimedOut"
    time.sleep(0.3)
    assert not marker.exists()
    assert first.result() == x * x and second.result() == x * x
    assert second.name == "Cached"
    assert cache_counter.read_text().count("ran") == 1


def test_a_payload_with_a_bad_signature_is_refused_and_logged(tmp_path):
    from runs.worker import run_task_run

    worker = start_worker(tmp_path, concurrency=1)
    try:
        import base64
        import pickle

        forged = base64.b64encode(b"\0" * 32 + pickle.dumps({"evil": True})).decode()
        run_task_run.apply_async(args=[forged], queue=worker.queue)
        deadline = time.monotonic() + 20
        while "refusing to unpickle" not in worker.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Refused a task run message" in worker.log()
        assert "signature does not match" in worker.log()
    finally:
        worker.stop()


def test_worker_killed_mid_task_leaves_the_run_crashed_and_its_slot_free(tmp_path):
    from runs import tags
    from runs_limits.models import ConcurrencySlot
    from runs_limits.services import create_limit, delete_limit_by_tag

    tag = f"kill-{uuid.uuid4().hex[:6]}"
    create_limit(tag=tag, concurrency_limit=1)
    worker = start_worker(tmp_path, concurrency=1)
    started = tmp_path / "started"
    outcome: dict = {}

    @flow(task_runner=CeleryTaskRunner(queue=worker.queue))
    def long_running():
        with tags(tag):
            return celery_flows.sleep_then_return.submit(60, str(started)).wait()

    thread = threading.Thread(
        target=lambda: outcome.setdefault("state", long_running(return_state=True))
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), worker.log()
        assert ConcurrencySlot.objects.filter(limit__tag=tag).count() == 1
        worker.kill()
        killed_at = time.monotonic()
        thread.join(timeout=30)
        assert not thread.is_alive()
        crash_seconds = time.monotonic() - killed_at
        flow_state = outcome["state"]
        # The flow returned the crashed run's state: FAILED by Prefect 2's aggregate rule.
        assert flow_state.type is StateType.FAILED
        assert flow_state.message == "1/1 states failed."
        run = TaskRun.objects.get(flow_run_id=flow_state.flow_run_id)
        assert run.state_type == StateType.CRASHED
        assert "stopped renewing its lease" in run.state_message
        assert crash_seconds < 15
        assert ConcurrencySlot.objects.filter(limit__tag=tag).count() == 0
    finally:
        worker.stop()
        delete_limit_by_tag(tag=tag)


def test_a_registered_flow_started_by_id_runs_on_a_worker(tmp_path):
    from runs.registry import register_flow
    from runs.services.flow_runs import start_flow_run

    register_flow("tests.runs.celery_flows:add_flow")
    worker = start_worker(tmp_path, queue="celery,default", concurrency=1)
    try:
        run = start_flow_run(flow_name="celery-add", parameters={"x": "41"})
        assert run.state_type == StateType.SCHEDULED
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.state_type in (StateType.COMPLETED, StateType.FAILED, StateType.CRASHED):
                break
            time.sleep(0.05)
        assert run.state_type == StateType.COMPLETED, worker.log()
        assert run.parameters["x"] == 41  # coerced from the form's text to the annotation
        assert TaskRun.objects.get(flow_run=run).state_type == StateType.COMPLETED
    finally:
        worker.stop()


def test_async_flow_maps_an_async_task_on_workers(two_workers):
    import asyncio

    @flow(task_runner=CeleryTaskRunner(queue=two_workers))
    async def async_mapped():
        futures = celery_flows.async_double.map([1, 2, 3])
        return [f.result() for f in futures]

    assert asyncio.run(async_mapped()) == [2, 4, 6]


def test_a_broker_that_refuses_the_message_crashes_the_run_instead_of_hanging(monkeypatch):
    from runs_project.celery import app

    def refuse(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(app, "send_task", refuse)

    @flow(task_runner=CeleryTaskRunner(queue="nobody-listens"))
    def unsendable():
        return {"state": celery_flows.double.submit(1).wait(timeout=30)}

    state = unsendable()["state"]
    assert state.is_crashed()
    assert "broker unreachable" in state.message
    assert TaskRun.objects.get(id=state.task_run_id).state_type == StateType.CRASHED


def test_cancelling_a_running_flow_run_stops_its_next_task_runs(tmp_path):
    from runs.registry import register_flow
    from runs.services.flow_runs import cancel_flow_run, start_flow_run

    register_flow("tests.runs.celery_flows:cancellable")
    worker = start_worker(tmp_path, queue="celery,default", concurrency=1)
    try:
        run = start_flow_run(
            flow_name="celery-cancellable", parameters={"folder": str(tmp_path), "seconds": 1.0}
        )
        deadline = time.monotonic() + 30
        while not (tmp_path / "first").exists():
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.05)
        cancel_flow_run(flow_run_id=run.id)
        run.refresh_from_db()
        assert run.state_type == StateType.CANCELLED
        final = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
        while True:  # the step that was running finishes; it is not left RUNNING
            first = TaskRun.objects.filter(flow_run=run, name="mark_and_sleep-0").first()
            if first is not None and first.state_type in final:
                break
            assert time.monotonic() < deadline, (first and first.state_name, worker.log())
            time.sleep(0.05)
        time.sleep(0.3)  # time enough for a second step to start, were it going to
        run.refresh_from_db()
        assert run.state_type == StateType.CANCELLED
        assert not (tmp_path / "second").exists()
        second = TaskRun.objects.filter(flow_run=run, name="mark_and_sleep-1").first()
        assert second is None or second.run_count == 0
    finally:
        worker.stop()


def test_a_run_whose_upstream_failed_on_a_worker_is_never_sent(two_workers):
    @flow(task_runner=CeleryTaskRunner(queue=two_workers))
    def chained():
        upstream = celery_flows.explode.submit(3)
        downstream = celery_flows.double.submit(upstream)
        return {"up": upstream.wait(), "down": downstream.wait()}

    states = chained()
    assert states["up"].is_failed()
    down = TaskRun.objects.get(id=states["down"].task_run_id)
    assert (down.state_name, down.run_count) == ("UpstreamFailed", 0)
    assert (
        str(states["up"].task_run_id) in down.state_message
        and "allow_failure" in down.state_message
    )
