"""`runs concurrency-limit` through a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from runs_limits.models import ConcurrencyLimit


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", "concurrency-limit", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def test_create_update_ls_inspect_delete():
    tag = f"cli-{uuid.uuid4().hex[:6]}"
    created = cli("create", tag, "10")
    assert created.returncode == 0 and "Created" in created.stdout
    updated = cli("create", tag, "3")
    assert updated.returncode == 0 and "Updated" in updated.stdout
    assert ConcurrencyLimit.objects.get(tag=tag).concurrency_limit == 3
    listing = cli("ls")
    row = next(line for line in listing.stdout.splitlines() if line.startswith(tag))
    assert row.split()[1:3] == ["3", "0"]
    inspect = cli("inspect", tag)
    assert inspect.returncode == 0 and "No task run holds a slot" in inspect.stdout
    deleted = cli("delete", tag)
    assert deleted.returncode == 0
    assert not ConcurrencyLimit.objects.filter(tag=tag).exists()


def test_bad_input_is_one_line_error_and_changes_nothing():
    tag = f"bad-{uuid.uuid4().hex[:6]}"
    for args in (
        ("create", tag, "-1"),
        ("create", tag, "two"),
        ("create", tag, "1.5"),
        ("create", " ", "1"),
        ("delete", tag),
        ("inspect", tag),
    ):
        result = cli(*args)
        assert result.returncode == 1, args
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error:")
    assert not ConcurrencyLimit.objects.filter(tag=tag).exists()


def test_inspect_shows_holding_runs():
    import threading
    import time

    from runs import flow, task
    from runs_limits import services

    tag = f"held-{uuid.uuid4().hex[:6]}"
    services.create_limit(tag=tag, concurrency_limit=1)
    gate = threading.Event()
    output = {}

    @task(tags=[tag], task_run_name="holder-run")
    def hold():
        gate.wait(10)

    @flow
    def f():
        future = hold.submit()
        time.sleep(0.3)
        output["inspect"] = cli("inspect", tag).stdout
        gate.set()
        future.result()

    f()
    assert "holder-run" in output["inspect"] and "Running" in output["inspect"]
