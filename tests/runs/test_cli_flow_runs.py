"""`runs flow-run ls` and `runs flow-run inspect`, through the real command."""

from __future__ import annotations

import os
import subprocess
import sys

from runs import flow, task


def runs_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def test_ls_and_inspect_show_runs_states_and_counts():
    attempts = []

    @task(retries=1, retry_delay_seconds=0)
    def wobbly():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first")

    @flow(name="cli-listed-flow")
    def listed():
        wobbly()

    state = listed(return_state=True)
    listing = runs_cli("flow-run", "ls")
    assert listing.returncode == 0
    assert str(state.flow_run_id) in listing.stdout and "cli-listed-flow" in listing.stdout
    inspect = runs_cli("flow-run", "inspect", str(state.flow_run_id))
    assert inspect.returncode == 0, inspect.stderr
    assert "wobbly-0" in inspect.stdout and "Completed" in inspect.stdout
    row = next(line for line in inspect.stdout.splitlines() if line.startswith("wobbly-0"))
    assert " 2 " in row  # run count
    short = runs_cli("flow-run", "inspect", str(state.flow_run_id)[:8])
    assert short.returncode == 0 and "wobbly-0" in short.stdout


def test_inspect_unknown_id_is_one_line_error():
    result = runs_cli("flow-run", "inspect", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: No flow run has id")
    assert len(result.stderr.strip().splitlines()) == 1
