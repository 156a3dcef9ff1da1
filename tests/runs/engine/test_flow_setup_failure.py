"""A flow run whose set-up fails ends FAILED with the error as its message; the caller gets the
error."""

from __future__ import annotations

import pytest

from runs import conf, flow
from runs.conf import SettingError
from runs.models import FlowRun, TaskRun
from runs.runners import ThreadPoolTaskRunner


class RunnerThatWillNotStart(ThreadPoolTaskRunner):
    def start(self) -> None:
        raise RuntimeError("the pool has no room")

    def duplicate(self) -> RunnerThatWillNotStart:
        return RunnerThatWillNotStart()


def test_unknown_default_task_runner_fails_the_flow_run_with_the_error():
    @flow
    def setup_fails():
        return 1

    with conf.override(RUNS_DEFAULT_TASK_RUNNER="foo"), pytest.raises(SettingError, match="foo"):
        setup_fails()
    run = FlowRun.objects.filter(flow__name="setup-fails").latest("created")
    assert run.state_type == "FAILED" and run.state_name == "Failed"
    assert "RUNS_DEFAULT_TASK_RUNNER='foo'" in run.state_message
    assert run.end_time is not None


def test_task_runner_that_fails_to_start_fails_the_flow_run_with_the_error():
    @flow(task_runner=RunnerThatWillNotStart())
    def runner_fails():
        return 1

    with pytest.raises(RuntimeError, match="no room"):
        runner_fails()
    run = FlowRun.objects.filter(flow__name="runner-fails").latest("created")
    assert (run.state_type, run.state_message) == ("FAILED", "RuntimeError: the pool has no room")


def test_subflow_whose_set_up_fails_fails_its_task_run_in_the_parent():
    @flow(task_runner=RunnerThatWillNotStart())
    def broken_child():
        return 1

    @flow
    def parent_of_broken():
        broken_child()

    state = parent_of_broken(return_state=True)
    assert state.is_failed() and "no room" in state.message
    child = FlowRun.objects.get(
        flow__name="broken-child",
        parent_task_run__isnull=False,
        parent_task_run__flow_run_id=state.flow_run_id,
    )
    assert child.state_type == "FAILED"
    link = TaskRun.objects.get(id=child.parent_task_run_id)
    assert link.state_type == "FAILED" and "no room" in link.state_message


def test_a_script_run_with_an_unknown_default_task_runner_records_its_flow_run_failed(tmp_path):
    """As a user meets it: the setting comes from the environment of a script."""
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    name = f"env-runner-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "script.py"
    script.write_text(
        "from runs import flow\n"
        f"@flow(name={name!r})\n"
        "def from_a_script():\n"
        "    return 1\n"
        "try:\n"
        "    from_a_script()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "RUNS_DEFAULT_TASK_RUNNER": "foo", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.stdout.startswith("SettingError RUNS_DEFAULT_TASK_RUNNER='foo'"), done.stderr
    run = FlowRun.objects.get(flow__name=name)
    assert run.state_type == "FAILED"
    assert "RUNS_DEFAULT_TASK_RUNNER='foo' (from environment)" in run.state_message
