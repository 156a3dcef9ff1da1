"""``runs up`` on the embedded defaults: web server and worker together, an admin account, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import httpx
import pytest

from tests.workers import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=2).status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs up is the embedded shape: SQLite under its own RUNS_HOME",
)
def test_runs_up_serves_the_dashboard_and_a_worker_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {**os.environ, "RUNS_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    env.pop("RUNS_ADMIN_PASSWORD", None)
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "runs.cli", "up", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(tmp_path),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if "ready." in text:
                try:
                    if status_of(base + "/") == 302:
                        break
                except OSError:
                    pass
            assert process.poll() is None, text
            time.sleep(0.1)
        text = log_path.read_text(errors="replace")
        assert status_of(base + "/") == 302  # to the sign-in page
        assert status_of(base + "/api/flow-runs/") == 401
        static = httpx.get(base + "/static/runs/app.css")
        assert static.status_code == 200 and "text/css" in static.headers["content-type"]
        assert static.headers["server"] == "gunicorn"  # not Django's development server
        assert "Registered flows: demo-caching, demo-concurrency-limit" in text
        password_file = tmp_path / "home" / "admin-password"
        password = password_file.read_text().strip()
        assert f"sign in as 'admin' with password {password}" in text
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"
        assert (tmp_path / "home" / "runs.sqlite3").exists()

        # A script with a token starts a demo flow; the worker of `runs up` runs it.
        token = subprocess.run(
            [sys.executable, "-m", "runs.cli", "token", "create", "admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=str(tmp_path),
        ).stdout.split()[0]
        api = httpx.Client(base_url=base + "/api", headers={"Authorization": f"Token {token}"})
        run = api.post("/flow-runs/", json={"flow": "demo-map", "parameters": {"count": 3}})
        assert run.status_code == 201, run.text
        run = run.json()
        while run["state"]["type"] not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            assert time.monotonic() < deadline + 60, run
            time.sleep(0.2)
            run = api.get(run["url"]).json()
        assert run["state"]["type"] == "COMPLETED"
        assert len(api.get(f"/task-runs/?flow_run={run['id']}").json()["results"]) == 3
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 0, log_path.read_text(errors="replace")
    assert "Stopped the web server and the worker." in log_path.read_text(errors="replace")
