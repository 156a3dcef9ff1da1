"""A Redis broker restarted empty: the caller's futures fail, naming the broker, instead of
waiting for ever on messages nobody will deliver."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest

from runs.models import FlowRun, TaskRun
from runs.states import StateType
from tests.workers import start_caller

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server for a private broker"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_redis(port: int, folder) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("redis-server did not start")


def test_runs_lost_by_a_restarted_broker_fail_the_callers_futures(tmp_path):
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    server = _start_redis(port, tmp_path)
    marks = tmp_path / "marks"
    marks.mkdir()
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    caller = start_caller(queue, marks, 30, env={"CELERY_BROKER_URL": broker})
    try:
        assert caller.stdout.readline().strip() == "sent"
        time.sleep(0.5)  # published
        server.kill()
        server.wait()
        server = _start_redis(port, tmp_path)  # empty: it kept nothing on disk
        output = caller.communicate(timeout=30)[0]
    finally:
        caller.kill()
        server.kill()
        server.wait()
    assert caller.returncode == 3, output
    assert f"127.0.0.1:{port}" in output
    flow_run = FlowRun.objects.filter(flow__name="sends-then-waits-on").latest("created")
    assert flow_run.state_type == StateType.FAILED
    runs = TaskRun.objects.filter(flow_run=flow_run)
    assert set(runs.values_list("state_type", flat=True)) == {StateType.CRASHED}
    message = runs.first().state_message
    assert "restarted empty" in message and f"127.0.0.1:{port}" in message
