"""State hooks of runs driven by a real ``runs worker``: they run in the worker's process, where
the run is (Prefect 2 runs a task's hooks where its engine runs the task)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from runs import flow
from runs.models import TaskRun
from runs.runners.celery import CeleryTaskRunner
from runs.selectors.logs import logs_for
from tests.runs.engine import hook_flows


def _pid_in(path: Path, worker, timeout: float = 30.0) -> int:
    """The process id a hook wrote into ``path`` (the final state may be read before the
    worker's hook has run)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"no {path.name}:\n{worker.log()}"
        time.sleep(0.02)
    return int(path.read_text())


def _messages_eventually(run, wanted: str, worker, timeout: float = 30.0) -> list[str]:
    """The lines of ``run`` once one contains ``wanted`` (a worker writes its lines behind)."""
    deadline = time.monotonic() + timeout
    while True:
        messages = [line.message for line in logs_for(run)]
        if any(wanted in message for message in messages):
            return messages
        assert time.monotonic() < deadline, (messages, worker.log())
        time.sleep(0.05)


def test_task_hooks_run_on_the_worker_and_a_raising_one_is_logged(tmp_path, runs_worker):
    """Prefect 2: hooks run where the task run runs; a hook that raises is logged with its
    traceback and neither changes the state nor stops the next hook."""
    worker, folder = runs_worker, str(tmp_path)

    @flow(task_runner=CeleryTaskRunner(queue=worker.queue))
    def on_a_worker():
        good = hook_flows.divide.submit(folder, 4)
        bad = hook_flows.divide.submit(folder, 0)
        doubled = hook_flows.async_double.submit(folder, 21)
        return {"states": [good.wait(), bad.wait(), doubled.wait()]}

    good, bad, doubled = on_a_worker()["states"]
    assert good.is_completed() and good.result() == 0.25
    assert bad.is_failed() and "ZeroDivisionError" in bad.message
    assert doubled.result() == 42
    pids = {
        _pid_in(tmp_path / "divide-0-Completed", worker),
        _pid_in(tmp_path / "divide-1-Failed", worker),
        _pid_in(tmp_path / "async_double-0-Completed-async", worker),
    }
    assert os.getpid() not in pids
    failed_run = TaskRun.objects.get(id=bad.task_run_id)
    messages = _messages_eventually(failed_run, "error was encountered", worker)
    [error] = [m for m in messages if "error was encountered" in m]
    assert error.startswith("An error was encountered while running hook 'broken_hook'")
    assert "RuntimeError: the hook broke on the worker" in error
    assert "Running hook 'mark_task' in response to entering state 'Failed'" in messages
    failed_run.refresh_from_db()
    assert failed_run.state_type == "FAILED"
    assert not (tmp_path / "divide-0-Failed").exists()


def test_flow_hooks_run_on_the_worker_that_runs_the_flow_run(tmp_path, runs_worker):
    """Prefect 2 runs a flow's hooks in the process that runs the flow run (a worker for a
    flow run started from the API)."""
    from runs.registry import register_flow
    from runs.services.flow_runs import start_flow_run

    register_flow("tests.runs.engine.hook_flows:flow_with_hooks")
    run = start_flow_run(flow_name="hooks-on-a-worker", parameters={"folder": str(tmp_path)})
    assert _pid_in(tmp_path / "flow-Completed", runs_worker) != os.getpid()
    run.refresh_from_db()
    assert run.state_type == "COMPLETED"
