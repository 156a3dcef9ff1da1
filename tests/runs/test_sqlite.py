"""SQLite set-up: a new database file ends in WAL mode however many processes open it at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from runs.sqlite import use_wal
from tests.runs.test_bootstrap import clean_env

OPEN_AT_THE_SIGNAL = textwrap.dedent("""
    import os, pathlib, sys, time
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "runs_project.settings"
    django.setup()
    from django.db import connection

    folder = pathlib.Path(sys.argv[1])
    (folder / f"ready-{os.getpid()}").touch()
    while not (folder / "go").exists():
        time.sleep(0.001)
    start = float((folder / "go").read_text())
    time.sleep(max(0.0, start - time.time()))  # all connect at one instant
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        print(cursor.fetchone()[0])
""")


@pytest.mark.parametrize("attempt", range(3))
def test_processes_opening_a_new_database_together_all_connect_and_it_is_wal(tmp_path, attempt):
    script = tmp_path / "open.py"
    script.write_text(OPEN_AT_THE_SIGNAL)
    env = clean_env(tmp_path / "home")
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(processes) and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go.part").write_text(str(time.time() + 0.2))
    (tmp_path / "go.part").rename(tmp_path / "go")
    results = [(p.wait(timeout=60), p.stdout.read().strip(), p.stderr.read()) for p in processes]
    assert [(code, mode) for code, mode, _ in results] == [(0, "wal")] * 6, results


def test_an_in_memory_database_keeps_its_memory_journal():
    assert use_wal(sqlite3.connect(":memory:")) == "memory"
