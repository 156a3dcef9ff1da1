"""Process leases: a run left RUNNING by a killed process ends CRASHED within a bounded time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from runs.leases import reap_dead_runs
from runs.models import FlowRun, ProcessLease, TaskRun
from runs.owners import renew

SCRIPT = textwrap.dedent("""
    import time
    from runs import flow, task

    @task
    def long_task():
        print("STARTED", flush=True)
        time.sleep(60)

    @flow(name="killed-flow")
    def killed_flow():
        long_task()

    killed_flow()
""")


def test_killed_process_runs_are_crashed_by_reaper(tmp_path):
    (tmp_path / "killed.py").write_text(SCRIPT)
    env = {**os.environ, "RUNS_HEARTBEAT_SECONDS": "0.2"}
    process = subprocess.Popen(
        [sys.executable, "killed.py"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "STARTED"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the RUNNING state reaches the database in batches
            run = TaskRun.objects.filter(task_name="long_task").order_by("-created").first()
            if run is not None and run.state_type == "RUNNING":
                break
            time.sleep(0.05)
        assert run.state_type == "RUNNING" and run.owner
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        killed_at = time.monotonic()
        renew()
        while time.monotonic() - killed_at < 5:
            reap_dead_runs()
            run.refresh_from_db()
            if run.state_type == "CRASHED":
                break
            time.sleep(0.1)
        assert run.state_type == "CRASHED" and "lease" in run.state_message
        assert time.monotonic() - killed_at < 2  # 3 heartbeats of 0.2 s, plus a margin
        flow_run = FlowRun.objects.get(id=run.flow_run_id)
        assert flow_run.state_type == "CRASHED"
    finally:
        if process.poll() is None:
            process.kill()


def test_live_lease_is_never_reaped():
    import threading

    from runs import conf, flow, task

    @task
    def steady():
        time.sleep(1.0)  # several lease periods of 0.3 s
        return "alive"

    @flow
    def f():
        return steady.submit()

    stop = threading.Event()

    def reaper():
        while not stop.is_set():
            reap_dead_runs()
            time.sleep(0.05)

    with conf.override(RUNS_HEARTBEAT_SECONDS=0.1):
        thread = threading.Thread(target=reaper)
        thread.start()
        try:
            state = f(return_state=True)
        finally:
            stop.set()
            thread.join()
    assert state.result().result() == "alive"  # the flow returned the run's state
    run = TaskRun.objects.get(flow_run_id=state.flow_run_id)
    assert run.state_type == "COMPLETED"
    assert ProcessLease.objects.filter(pid=os.getpid()).exists()


def test_runs_a_dead_worker_claimed_but_never_started_are_crashed():
    from runs.owners import current_owner
    from runs.worker import _claim
    from tests.runs.api import seed

    flow_run = seed.flow_run(state="RUNNING")
    claimed = [seed.task_run(flow_run, state="PENDING") for _ in range(2)]
    TaskRun.objects.filter(id__in=[r.id for r in claimed]).update(state_name="Pending")
    _claim([str(r.id) for r in claimed])
    assert set(
        TaskRun.objects.filter(id__in=[r.id for r in claimed]).values_list("owner", flat=True)
    ) == {current_owner()}

    # as if the claiming process had died: an owner with no live lease
    TaskRun.objects.filter(id__in=[r.id for r in claimed]).update(owner="gone:1:dead")
    reap_dead_runs()
    assert set(
        TaskRun.objects.filter(id__in=[r.id for r in claimed]).values_list("state_type", flat=True)
    ) == {"CRASHED"}


STALLED_SCRIPT = textwrap.dedent("""
    import os
    import sys
    import time
    from runs import flow, leases, task

    @task(tags=[sys.argv[1]])
    def stalled():
        leases.stop_heartbeat()  # as if renewals were starved: the lease lapses
        print("STALLED", flush=True)
        while not os.path.exists("go"):
            time.sleep(0.02)
        return "still here"

    @flow
    def stalling():
        return stalled()

    print(stalling(), flush=True)
""")


def test_a_late_renewal_never_kills_a_healthy_run(tmp_path):
    import uuid

    from runs.states import now
    from runs_limits import services
    from runs_limits.models import ConcurrencySlot
    from runs_limits.slots import acquire, reclaim_dead_slots, release

    tag = f"stall-{uuid.uuid4().hex[:6]}"
    services.create_limit(tag=tag, concurrency_limit=1)
    (tmp_path / "stalled.py").write_text(STALLED_SCRIPT)
    env = {**os.environ, "RUNS_HEARTBEAT_SECONDS": "0.1"}  # a lease of 0.3 s
    process = subprocess.Popen(
        [sys.executable, "stalled.py", tag],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "STALLED"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lease = ProcessLease.objects.get(pid=process.pid)
            if lease.expires < now():
                break
            time.sleep(0.05)
        assert lease.expires < now(), "the lease never lapsed: the test would prove nothing"
        for _ in range(10):  # another process reaping, over three lease periods
            reap_dead_runs()
            reclaim_dead_slots()
            time.sleep(0.1)
        run = TaskRun.objects.filter(task_name="stalled").order_by("-created").first()
        assert run.state_type == "RUNNING"
        assert ConcurrencySlot.objects.filter(limit__tag=tag, task_run_id=run.id).exists()
        probe = uuid.uuid4()
        assert acquire(probe, [tag]).status == "wait"  # the slot still counts
        release(probe)
        (tmp_path / "go").touch()
        assert process.wait(30) == 0
        assert process.stdout.read().strip() == "still here"
        run.refresh_from_db()
        assert (run.state_type, run.state_name) == ("COMPLETED", "Completed")
        assert not ConcurrencySlot.objects.filter(limit__tag=tag).exists()
    finally:
        if process.poll() is None:
            process.kill()
