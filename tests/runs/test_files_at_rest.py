"""Secrets at rest: everything `runs` keeps under RUNS_HOME is readable by its owner only.

Each test starts processes on a RUNS_HOME of its own, with the common umask 022, and checks the
modes of what they leave there: folders 0700, files 0600.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.workers import REPO_ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres")
    or not os.environ.get("CELERY_BROKER_URL", "filesystem://").startswith("filesystem://"),
    reason="the embedded shape: SQLite and the filesystem broker under RUNS_HOME",
)

#: A script that persists results, sends a message through the embedded broker, and reports
#: the modes under RUNS_HOME while its database connection is open (so -wal and -shm exist).
SCRIPT = textwrap.dedent("""
    import json, os, stat, sys, uuid

    from runs import flow, task

    @task(persist_result=True)
    def double(x):
        return 2 * x

    @flow(persist_result=True)
    def pipeline(x):
        return double(x)

    assert pipeline(21) == 42

    from runs.runners.messages import RUN_FLOW_RUN, send

    send(RUN_FLOW_RUN, [str(uuid.uuid4()), {}])  # no worker: the message stays queued

    home = os.environ["RUNS_HOME"]
    modes = {}
    for folder, dirs, files in os.walk(home):
        for name in dirs + files:
            path = os.path.join(folder, name)
            modes[os.path.relpath(path, home)] = stat.S_IMODE(os.lstat(path).st_mode)
    json.dump(modes, sys.stdout)
""")


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNS_", "DJANGO_", "DATABASE_URL", "CELERY_"))
    }
    env.update(RUNS_HOME=str(home), PYTHONPATH=str(REPO_ROOT))
    return env


def _run(args: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _modes(home: Path) -> dict[str, int]:
    modes = {".": stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        modes[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def _open_to_others(modes: dict[str, int]) -> dict[str, str]:
    return {name: oct(mode) for name, mode in modes.items() if mode & 0o077}


def _fresh_home(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A RUNS_HOME a flow, a message and a profile setting were written to; modes seen live."""
    (tmp_path / "script.py").write_text(SCRIPT)
    home = tmp_path / "home"
    live = json.loads(_run(["script.py"], home, tmp_path).stdout)
    _run(["-m", "runs.cli", "config", "set", "RUNS_RETENTION_DAYS=30"], home, tmp_path)
    return home, live


def test_a_new_home_and_everything_in_it_is_owner_only(tmp_path):
    home, live = _fresh_home(tmp_path)

    # What was there while the script ran, the database's -wal and -shm included.
    for name in ("runs.sqlite3", "runs.sqlite3-wal", "runs.sqlite3-shm", "secret_key"):
        assert live[name] == 0o600, (name, oct(live[name]))
    assert any(n.startswith("storage/") for n in live), "no result was stored"
    assert any(n.startswith("broker/queue/") and n.endswith(".msg") for n in live)
    assert any(n.startswith("broker/control/") for n in live)
    assert _open_to_others(live) == {}

    after = _modes(home)
    assert after["."] == 0o700
    assert after["profiles.toml"] == 0o600
    for name, mode in after.items():
        expected = 0o700 if (home / name).is_dir() else 0o600
        assert mode == expected, (name, oct(mode))


def test_files_an_older_version_left_open_are_fixed_on_start_with_one_log_line(tmp_path):
    home, _ = _fresh_home(tmp_path)
    # As an older version (or a umask of 022) left them.
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    loose = _open_to_others(_modes(home))
    assert {"runs.sqlite3", "secret_key", "profiles.toml", "storage"} <= set(loose)
    # What a user keeps beside them is theirs: left as it is.
    (home / "notes.txt").write_text("mine")
    (home / "notes.txt").chmod(0o644)
    (home / "shared").mkdir(mode=0o755)

    result = _run(["-m", "runs.cli", "flow-run", "ls"], home, tmp_path)

    assert _open_to_others(_modes(home)) == {"notes.txt": "0o644", "shared": "0o755"}
    lines = [line for line in result.stderr.splitlines() if "owner-only" in line]
    assert len(lines) == 1, result.stderr
    assert "RUNS_HOME 0755->0700" in lines[0] and "runs.sqlite3 0644->0600" in lines[0]

    again = _run(["-m", "runs.cli", "flow-run", "ls"], home, tmp_path)
    assert "owner-only" not in again.stderr


def test_a_django_process_that_connects_first_makes_the_home_private(tmp_path):
    """`manage.py` commands and the web server configure Django without runs.bootstrap."""
    home = tmp_path / "home"
    code = (
        "import django; django.setup(); from django.db import connection; "
        "connection.ensure_connection(); connection.cursor().execute('create table t (x)'); "
        "import os, stat; h = os.environ['RUNS_HOME']; "
        "print({n: oct(stat.S_IMODE(os.stat(os.path.join(h, n)).st_mode)) "
        "for n in ('.', 'runs.sqlite3', 'runs.sqlite3-wal', 'runs.sqlite3-shm')})"
    )
    env = {**_env(home), "DJANGO_SETTINGS_MODULE": "runs_project.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(
        {
            ".": "0o700",
            "runs.sqlite3": "0o600",
            "runs.sqlite3-wal": "0o600",
            "runs.sqlite3-shm": "0o600",
        }
    )


def test_the_sign_in_page_names_no_path_on_the_server():
    from django.test import Client

    from runs import conf

    page = Client().get("/login/")
    assert page.status_code == 200
    text = page.content.decode()
    assert str(conf.settings.RUNS_HOME) not in text
    assert "admin-password" not in text
    assert "runs up" in text
