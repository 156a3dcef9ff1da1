"""The reaper ends what nothing will ever run: the task runs of a caller killed while it was
still sending them to workers (also when its flow run was cancelled meanwhile), never those a
live caller still holds; and its messages say which process was lost, where, and what the run
was doing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

from runs import conf, flow
from runs.leases import reap_dead_runs
from runs.models import FlowRun, TaskRun
from runs.orchestration import set_task_run_state
from runs.orchestration.ownership import end_task_runs_of_ended_flow_runs
from runs.owners import renew
from runs.runners.celery import CeleryTaskRunner
from runs.states import Cancelled, StateType
from tests.runs import celery_flows

# A caller sending a map to a queue no worker consumes: its runs stay Pending, owned by nobody.
SENDING_SCRIPT = textwrap.dedent("""
    import sys
    from runs import flow
    from runs.runners.celery import CeleryTaskRunner
    from tests.runs import celery_flows

    @flow(name="killed-while-sending", task_runner=CeleryTaskRunner(queue=sys.argv[1]))
    def sending(n):
        futures = celery_flows.double.map(range(n))
        print("SENDING", flush=True)
        return [future.result() for future in futures]

    sending(int(sys.argv[2]))
""")


def _start_caller(tmp_path, n: int) -> subprocess.Popen:
    (tmp_path / "sending.py").write_text(SENDING_SCRIPT)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env = {
        **os.environ,
        "RUNS_HEARTBEAT_SECONDS": "0.1",  # a lease of 0.3 s
        "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])),
    }
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    return subprocess.Popen(
        [sys.executable, "sending.py", queue, str(n)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _flow_run_of(process: subprocess.Popen, written: int) -> FlowRun:
    """The caller's flow run, once ``written`` of its task runs are in the database."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        flow_run = FlowRun.objects.filter(owner__contains=f":{process.pid}:").first()
        if flow_run is not None and TaskRun.objects.filter(flow_run=flow_run).count() >= written:
            return flow_run
        time.sleep(0.01)
    raise AssertionError(f"the caller did not write {written} task runs")


def test_task_runs_of_a_caller_killed_while_sending_end_crashed_naming_it(tmp_path):
    process = _start_caller(tmp_path, 3000)
    try:
        assert process.stdout.readline().strip() == "SENDING"
        flow_run = _flow_run_of(process, 600)  # more than one batch of the reaper
        os.kill(process.pid, signal.SIGKILL)  # the sender thread is writing and sending
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    runs = TaskRun.objects.filter(flow_run=flow_run)
    left = runs.exclude(state_type__in=["COMPLETED", "CRASHED"])
    assert left.exists() and not left.exclude(owner="").exists()  # Pending, owned by nobody
    killed_at = time.monotonic()
    renew()
    with conf.override(RUNS_HEARTBEAT_SECONDS=0.1):  # the caller's: a lease of 0.3 s
        while left.exists() and time.monotonic() - killed_at < 10:
            reap_dead_runs()
            time.sleep(0.05)
    assert not left.exists(), "task runs of the dead caller were left unfinished"
    assert time.monotonic() - killed_at < 6  # its lease of 0.3 s, then batches of 500
    flow_run.refresh_from_db()
    assert flow_run.state_type == StateType.CRASHED
    assert flow_run.state_message.startswith(f"The script process {process.pid} on ")
    assert "that ran this flow run has exited: it stopped renewing its lease" in (
        flow_run.state_message
    )
    assert "The flow run had been running since " in flow_run.state_message
    crashed = runs.filter(state_type=StateType.CRASHED)
    assert crashed.count() == runs.count()
    message = crashed.first().state_message
    assert message.startswith("Its flow run ended (Crashed at ")
    assert f"The flow run's process, script process {process.pid} on " in message
    assert "has exited" in message and "still Pending (since" in message
    assert "claimed by no worker" in message


def test_a_sweep_cancels_the_runs_of_a_dead_callers_flow_run_cancelled_meanwhile(tmp_path):
    from runs.services.flow_runs import cancel_flow_run

    process = _start_caller(tmp_path, 50)
    try:
        assert process.stdout.readline().strip() == "SENDING"
        flow_run = _flow_run_of(process, 50)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    # Cancelled before the reaper found the caller dead: the flow run is final, not RUNNING,
    # so only the sweep over ended flow runs finds its runs.
    cancel_flow_run(flow_run_id=flow_run.id)
    runs = TaskRun.objects.filter(flow_run=flow_run)
    deadline = time.monotonic() + 5
    with conf.override(RUNS_HEARTBEAT_SECONDS=0.1):  # the caller's: a lease of 0.3 s
        while runs.exclude(state_type="CANCELLED").exists() and time.monotonic() < deadline:
            reap_dead_runs(sweep=True)
            time.sleep(0.05)
    assert set(runs.values_list("state_type", flat=True)) == {"CANCELLED"}
    message = runs.first().state_message
    assert message.startswith("Its flow run ended (Cancelled at ")
    assert f"The flow run's process, script process {process.pid} on " in message


def test_runs_a_live_caller_still_holds_are_left_to_it():
    # Its flow run timed out (FAILED) while its runs wait in a queue no worker consumes: the
    # caller lives, holds their messages and judges them itself; the reaper leaves them.
    @flow(timeout_seconds=0.3, task_runner=CeleryTaskRunner(queue=f"nobody-{uuid.uuid4().hex}"))
    def impatient():
        return [future.result() for future in celery_flows.double.map(range(5))]

    state = impatient(return_state=True)
    assert state.type is StateType.FAILED
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    try:
        assert reap_dead_runs(sweep=True) >= 0
        assert set(runs.values_list("state_type", flat=True)) == {"PENDING"}
    finally:
        for task_run_id in runs.values_list("id", flat=True):
            set_task_run_state(task_run_id, Cancelled("End of the test."))


def test_runs_held_by_a_live_process_are_left_to_it(task_runs, flow_run_id):
    # The module's flow run has COMPLETED; a run this (live) process claimed stays Pending.
    from runs.orchestration.ownership import claim_task_runs

    record = task_runs()
    assert claim_task_runs([str(record.id)]) == 1
    end_task_runs_of_ended_flow_runs()
    assert TaskRun.objects.get(id=record.id).state_type == "PENDING"
