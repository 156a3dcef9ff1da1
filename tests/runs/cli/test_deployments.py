"""``runs deployment``: create from MODULE:FLOW with schedules and parameters, list, inspect,
run, pause, resume, delete; every mistake a one-line error naming the flag."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from runs.cli import main
from runs.models import FlowRun
from runs.services.deployments import get_deployment
from runs.services.work_queues import create_work_queue
from tests.workers import start_worker

ADD = "tests.runs.deploy_flows:add"


def unique(prefix: str = "dep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["deployment", *args])
    out, err = capsys.readouterr()
    return status, out, err


def create(capsys, *extra: str, name: str | None = None) -> str:
    """Make a deployment of the add flow; its ``flow/name``."""
    name = name or unique()
    status, out, err = run(capsys, "create", ADD, "--name", name, *extra)
    assert status == 0, err
    return f"deploy-tests-add/{name}"


def test_create_registers_the_flow_and_stores_schedules_params_queue_and_tags(capsys):
    queue = create_work_queue(name=unique("q")).name
    name = unique()

    status, out, _ = run(
        capsys, "create", ADD, "--name", name, "--cron", "*/5 * * * *", "--interval", "90",
        "--timezone", "Europe/Paris", "--param", "x=3", "--param", "y=\"4\"", "--queue", queue,
        "--tag", "etl", "--tag", "nightly", "--description", "adds", "--catchup", "all",
    )  # fmt: skip

    assert status == 0
    assert f"Created deployment 'deploy-tests-add/{name}'" in out
    assert "2 schedules" in out
    deployment = get_deployment(f"deploy-tests-add/{name}")
    assert deployment.flow.entrypoint == ADD
    assert deployment.parameters == {"x": 3, "y": 4}
    assert deployment.work_queue.name == queue
    assert deployment.tags == ["etl", "nightly"]
    assert deployment.catchup == "all"
    kinds = [(s.kind, s.timezone) for s in deployment.schedules.order_by("id")]
    assert kinds == [("cron", "Europe/Paris"), ("interval", "Europe/Paris")]


def test_ls_and_inspect_show_the_schedules_in_words(capsys):
    full_name = create(capsys, "--interval", "300", "--param", "x=1")

    status, out, _ = run(capsys, "ls")
    assert status == 0
    line = next(row for row in out.splitlines() if full_name in row)
    assert "every 5 minutes" in line and line.rstrip().endswith("no")

    status, out, _ = run(capsys, "inspect", full_name)
    assert status == 0
    assert f"Deployment  {full_name}" in out
    assert 'Parameters  {"x": 1}' in out
    assert "every 5 minutes" in out
    assert "Last runs: none." in out


def test_run_prints_the_new_flow_run_which_waits_in_the_deployment_queue(capsys):
    queue = create_work_queue(name=unique("q"), concurrency_limit=0).name
    full_name = create(capsys, "--param", "x=1", "--queue", queue)

    status, out, _ = run(capsys, "run", full_name, "--param", "y=10", "--start-in", "60")

    assert status == 0
    flow_run = FlowRun.objects.get(deployment=get_deployment(full_name))
    assert f"Created flow run '{flow_run.name}' ({flow_run.id})" in out
    assert f"work queue '{queue}'" in out
    assert flow_run.parameters == {"x": 1, "y": 10}
    assert flow_run.state_type == "SCHEDULED"


def test_pause_resume_and_delete(capsys):
    full_name = create(capsys, "--param", "x=1")

    assert run(capsys, "pause", full_name)[0] == 0
    assert get_deployment(full_name).paused
    assert run(capsys, "resume", full_name)[0] == 0
    assert not get_deployment(full_name).paused
    status, out, _ = run(capsys, "delete", str(get_deployment(full_name).id))
    assert status == 0 and f"Deleted deployment '{full_name}'" in out
    assert run(capsys, "inspect", full_name)[0] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "61 * * * *"], "--cron: "),
        (["--cron", "every day"], "--cron: "),
        (["--rrule", "FREQ=SOMETIMES"], "--rrule: "),
        (["--interval", "0"], "--interval: "),
        (["--interval", "-1"], "--interval: "),
        (["--interval", "abc"], "--interval: "),
        (["--cron", "* * * * *", "--timezone", "Mars/Olympus"], "--timezone: "),
        (["--interval", "60", "--anchor", "soon"], "--anchor: "),
        (["--cron", "* * * * *", "--anchor", "2026-01-01"], "--anchor: "),
        (
            ["--param", "x=abc"],
            "--param: The parameters do not fit flow 'deploy-tests-add': parameter 'x'",
        ),  # fmt: skip
        (["--param", "nope=1", "--param", "x=1"], "--param: The parameters do not fit"),
        (["--param", "x"], "--param: write KEY=VALUE"),
        (["--interval", "60"], "--param: Flow 'deploy-tests-add' requires 'x'"),
        (
            ["--queue", "no-such-queue"],
            "--queue: No work queue is called 'no-such-queue'; "
            "create it with `runs work-queue create no-such-queue`",
        ),  # fmt: skip
        (["--catchup", "sometimes"], "--catchup: "),
        (["--tag", " "], "--tag: "),
    ],
)
def test_create_mistakes_are_one_line_errors_naming_the_flag(capsys, args, message):
    name = unique()

    status, _, err = run(capsys, "create", ADD, "--name", name, *args)

    assert status == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(LookupError):
        get_deployment(f"deploy-tests-add/{name}")


def test_a_duplicate_name_and_a_bad_entrypoint_are_refused(capsys):
    full_name = create(capsys, "--param", "x=1")

    status, _, err = run(capsys, "create", ADD, "--name", full_name.split("/")[1])
    assert status == 1 and "--name: Flow 'deploy-tests-add' already has a deployment" in err

    status, _, err = run(capsys, "create", "tests.runs.deploy_flows:nothing", "--name", "x")
    assert status == 1 and "MODULE:FLOW: " in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-in", "-5"], "--start-in: give seconds from now"),
        (["--start-in", "soon"], "--start-in: give seconds from now"),
        (["--param", "x=many"], "--param: The parameters do not fit"),
    ],
)
def test_run_mistakes_are_one_line_errors_naming_the_flag(capsys, args, message):
    full_name = create(capsys)

    status, _, err = run(capsys, "run", full_name, *args)

    assert status == 1 and message in err
    assert len(err.strip().splitlines()) == 1


def test_run_of_an_unknown_deployment_says_how_to_name_one(capsys):
    status, _, err = run(capsys, "run", "no-such-flow/none")

    assert status == 1 and "`runs deployment ls` lists them" in err


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_a_deployment_made_and_run_from_the_command_line_runs_on_a_worker(tmp_path):
    queue, name = unique("q"), unique()
    assert _cli("work-queue", "create", queue, "--limit", "1").returncode == 0
    made = _cli("deployment", "create", ADD, "--name", name, "--param", "x=2", "--queue", queue)
    assert made.returncode == 0, made.stderr
    worker = start_worker(tmp_path, queue=queue)
    try:
        started = _cli("deployment", "run", f"deploy-tests-add/{name}", "--param", "y=3")
        assert started.returncode == 0, started.stderr
        flow_run = FlowRun.objects.get(deployment__name=name)
        deadline = time.monotonic() + 60
        while flow_run.state_type != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.1)
            flow_run.refresh_from_db()
    finally:
        worker.stop()
    assert flow_run.state_type == "COMPLETED", worker.log()
    assert flow_run.parameters == {"x": 2, "y": 3}
    assert flow_run.work_queue.name == queue
