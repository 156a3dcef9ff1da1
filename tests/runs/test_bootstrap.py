"""A plain script in an empty folder works with nothing set up, even two at the same moment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    from runs import flow, task

    @task
    def my_task():
        print("Hello, I'm a task")

    @flow
    def my_flow():
        my_task()

    my_flow()
""")


def clean_env(home) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNS_", "DJANGO_", "DATABASE_URL"))
    }
    env["RUNS_HOME"] = str(home)
    return env


def test_script_in_empty_folder_creates_database(tmp_path):
    (tmp_path / "my_flow.py").write_text(SCRIPT)
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "my_flow.py"],
        cwd=tmp_path,
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Hello, I'm a task" in result.stdout
    db = sqlite3.connect(home / "runs.sqlite3")
    assert db.execute("select count(*) from runs_flowrun").fetchone() == (1,)
    assert db.execute("select state_name from runs_taskrun").fetchall() == [("Completed",)]
    assert db.execute("pragma journal_mode").fetchone() == ("wal",)


def test_two_scripts_at_the_same_moment_both_succeed(tmp_path):
    (tmp_path / "my_flow.py").write_text(SCRIPT)
    env = clean_env(tmp_path / "home")
    processes = [
        subprocess.Popen(
            [sys.executable, "my_flow.py"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    assert all(code == 0 for code, _ in results), results
    db = sqlite3.connect(tmp_path / "home" / "runs.sqlite3")
    assert db.execute("select count(*) from runs_flowrun").fetchone() == (3,)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL run only"
)
def test_script_uses_database_url(tmp_path):
    (tmp_path / "my_flow.py").write_text(SCRIPT)
    env = clean_env(tmp_path / "home")
    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "my_flow.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "home" / "runs.sqlite3").exists()
