"""``runs scheduler``: one pass with --once, a loop that stops promptly on SIGTERM, and a
one-line error for a bad --loop-seconds.

The deployments' queues are paused, so the runs made here are never sent to a worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from runs.services.deployments import ScheduleInput, create_deployment
from runs.services.work_queues import create_work_queue


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", "scheduler", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


@pytest.fixture
def deployment():
    from runs.registry import register_flow

    flow = register_flow("runs.demo_flows:demo_caching")
    queue = create_work_queue(name=f"cli-sched-{uuid.uuid4().hex[:10]}", paused=True)
    return create_deployment(
        flow_name=flow.name,
        name=f"cli-{uuid.uuid4().hex[:10]}",
        work_queue=queue.name,
        schedules=[ScheduleInput("interval", "60")],
    )


def _count(deployment) -> int:
    from runs.selectors.deployments import deployment_detail

    return len(deployment_detail(deployment.id).upcoming)


def test_once_makes_the_runs_ahead_prints_what_it_did_and_exits(deployment):
    done = _cli("--once")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Scheduler pass: ")
    assert " ahead" in done.stdout and " Late" in done.stdout and "to workers" in done.stdout
    made = _count(deployment)
    assert made >= 3  # every minute for 100 days, at most 100: at least the 3 fewest

    again = _cli("--once")
    assert again.returncode == 0, again.stderr
    assert _count(deployment) == made  # a second pass makes none of them again


def test_the_loop_makes_runs_and_stops_promptly_on_sigterm(deployment):
    process = subprocess.Popen(
        [sys.executable, "-m", "runs.cli", "scheduler", "--loop-seconds", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while _count(deployment) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _count(deployment) > 0
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Scheduler stopped." in out


def test_catch_up_goes_with_once():
    done = _cli("--catch-up")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("Error: --catch-up goes with --once")


def test_once_with_catch_up_says_what_it_caught_up(deployment):
    done = _cli("--once", "--catch-up")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Scheduler pass: ")


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_loop_of_no_seconds_is_a_one_line_error(value):
    done = _cli("--loop-seconds", value)
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: --loop-seconds must be above 0; got {float(value)}."


def test_a_pass_is_summed_up_in_one_line():
    from runs.scheduler import PassResult

    assert (
        PassResult(created=12, deployments=3, late=1, dispatched=1).summary()
        == "made 12 runs ahead for 3 deployments; marked 1 Late; sent 1 run to workers"
    )
    assert (
        PassResult(caught_up=1, skipped=4)
        .summary()
        .startswith("caught up: made 1 run for missed times, skipped 4; made 0 runs ahead")
    )
    assert not PassResult().did_something()
