"""One Ctrl-C stops a flow that waits on Celery workers, and cancels what no worker started."""

from __future__ import annotations

import signal
import time
import uuid

from runs.models import FlowRun, TaskRun
from runs.states import StateType
from tests.workers import start_caller, start_worker


def test_one_ctrl_c_stops_the_caller_and_its_unstarted_runs_never_start(tmp_path):
    queue = f"nobody-yet-{uuid.uuid4().hex[:8]}"
    marks = tmp_path / "marks"
    marks.mkdir()
    caller = start_caller(queue, marks, 50)
    try:
        assert caller.stdout.readline().strip() == "sent"
        time.sleep(0.3)  # the sender thread publishes the batch
        interrupted = time.monotonic()
        caller.send_signal(signal.SIGINT)
        output = caller.communicate(timeout=20)[0]
        assert time.monotonic() - interrupted < 10, output
    finally:
        caller.kill()
    assert caller.returncode != 0
    assert "KeyboardInterrupt" in output
    flow_run = FlowRun.objects.filter(name__isnull=False, flow__name="sends-then-waits-on").latest(
        "created"
    )
    assert flow_run.state_type == StateType.CRASHED
    runs = TaskRun.objects.filter(flow_run=flow_run)
    assert runs.count() == 50
    assert set(runs.values_list("state_type", flat=True)) == {StateType.CANCELLED}
    assert "interrupted" in runs.first().state_message
    # A worker that comes up on that queue now receives the messages and drops them.
    worker = start_worker(tmp_path, queue=queue, concurrency=1)
    try:
        deadline = time.monotonic() + 15
        while worker.log().count(" succeeded in ") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        log = worker.log()
    finally:
        worker.stop()
    assert "runs.run_task_runs" in log and " succeeded in " in log, log
    assert list(marks.iterdir()) == []
    assert set(runs.values_list("state_type", flat=True)) == {StateType.CANCELLED}


def test_runs_of_a_flow_run_cancelled_while_they_wait_at_a_worker_never_start(tmp_path):
    import threading

    from runs import flow
    from runs.runners.celery import CeleryTaskRunner
    from runs.services.flow_runs import cancel_flow_run
    from tests.runs import celery_flows

    marks = tmp_path / "marks"
    marks.mkdir()
    worker = start_worker(tmp_path, concurrency=1)
    outcome: dict = {}

    @flow(task_runner=CeleryTaskRunner(queue=worker.queue))
    def four_waiting():
        futures = celery_flows.waits_for_go.map(str(marks), range(4))
        return [future.wait(30) for future in futures]

    thread = threading.Thread(target=lambda: outcome.setdefault("states", four_waiting()))
    try:
        thread.start()
        deadline = time.monotonic() + 20
        while not list(marks.iterdir()):
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.02)
        flow_run = FlowRun.objects.filter(flow__name="four-waiting").latest("created")
        cancel_flow_run(flow_run_id=flow_run.id)
        (marks / "go").write_text("")
        thread.join(timeout=30)
        assert not thread.is_alive(), worker.log()
    finally:
        worker.stop()
    started = sorted(p.name for p in marks.iterdir() if p.name != "go")
    assert len(started) == 1, started  # the one running when the flow run was cancelled
    others = TaskRun.objects.filter(flow_run=flow_run).exclude(map_index=int(started[0]))
    assert set(others.values_list("state_type", flat=True)) == {StateType.CANCELLED}
