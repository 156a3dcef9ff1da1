"""Load shedding: a busy web server answers a quick 503 with Retry-After instead of hanging.

Through Django's test client with the process's places taken, and through the real web server
of `runs up` (gunicorn, as web_server_command starts it) with one place held by a client that
is still sending its request body.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import threading
import time

import httpx
import pytest
from django.test import Client

from runs import admission, arrivals, conf
from runs.cli import build_parser
from runs.cli.up import web_server_command
from tests.workers import REPO_ROOT


@pytest.fixture
def one_place():
    """This process admits one request at a time and lets others wait 0.3 s for it."""
    with conf.override(RUNS_WEB_MAX_IN_FLIGHT=1, RUNS_WEB_QUEUE_SECONDS=0.3):
        admission.reset_process_gate()
        yield admission.process_gate()
    admission.reset_process_gate()


def test_a_busy_process_answers_503_at_once_json_in_the_api_and_a_page_elsewhere(one_place):
    client = Client()
    assert one_place.enter()  # another request is being worked on
    try:
        started = time.monotonic()
        api = client.get("/api/flow-runs/")
        page = client.get("/login/")
        elapsed = time.monotonic() - started
    finally:
        one_place.leave()
    assert elapsed < 2.0  # each waited its 0.3 s at most
    assert api.status_code == 503 and api["Retry-After"] == "1"
    assert "busy" in api.json()["detail"] and "RUNS_WEB_MAX_IN_FLIGHT" in api.json()["detail"]
    assert page.status_code == 503 and page["Retry-After"] == "1"
    assert page["Content-Type"].startswith("text/html") and b"busy" in page.content
    # The place is free again: the same requests are served.
    assert client.get("/login/").status_code == 200
    assert client.get("/api/flow-runs/").status_code == 401


def test_a_request_waits_for_a_place_freed_within_the_queue_time(one_place):
    assert one_place.enter()
    threading.Timer(0.1, one_place.leave).start()
    assert Client().get("/login/").status_code == 200


def test_time_already_spent_in_the_servers_queue_counts_against_the_wait(one_place):
    assert one_place.enter()
    try:
        arrivals.mark(time.monotonic() - 5)  # it waited 5 s for a thread before reaching Django
        started = time.monotonic()
        answer = Client().get("/login/")
        elapsed = time.monotonic() - started
    finally:
        arrivals.mark(None)
        one_place.leave()
    assert answer.status_code == 503
    assert elapsed < 0.25  # refused without waiting its 0.3 s again


def test_runs_up_starts_gunicorn_with_threads_beyond_the_places_and_the_queue_marking_worker():
    args = build_parser().parse_args(["up", "--port", "8123", "--web-workers", "3"])
    command = web_server_command(args)

    def option(name: str) -> str:
        return command[command.index(name) + 1]

    assert command[1:4] == ["-m", "gunicorn", "runs_project.wsgi:application"]
    assert option("--bind") == "127.0.0.1:8123"
    assert option("--workers") == "3"
    assert int(option("--threads")) == 32 > conf.SETTINGS["RUNS_WEB_MAX_IN_FLIGHT"].default
    assert option("--worker-class") == "runs.web_worker.ThreadWorker"
    assert int(option("--worker-connections")) >= 1000
    assert int(option("--backlog")) >= 1000
    assert option("--keep-alive") == "5"
    threads = build_parser().parse_args(["up", "--threads", "64"])
    assert web_server_command(threads)[command.index("--threads") + 1] == "64"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the web server stopped"
        try:
            if httpx.get(url, timeout=10).status_code == 200:  # a 503 while it warms up
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the web server did not answer at {url}")


def test_the_web_server_of_runs_up_refuses_quickly_while_its_place_is_held(runs_home):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "RUNS_WEB_MAX_IN_FLIGHT": "1",
        "RUNS_WEB_QUEUE_SECONDS": "0.2",
    }
    options = argparse.Namespace(host="127.0.0.1", port=port, web_workers=1, threads=4)
    server = subprocess.Popen(
        web_server_command(options), env=env, cwd=REPO_ROOT, stderr=subprocess.PIPE
    )
    held = None
    try:
        _wait_until_up(base + "/login/", server)
        sign_in = httpx.get(base + "/login/")
        assert sign_in.status_code == 200, (sign_in.status_code, sign_in.text[:500])
        cookie = sign_in.cookies["csrftoken"]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', sign_in.text).group(1)
        body = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong".encode()
        # A client that sends half its sign-in form and stalls: the CSRF check reads the
        # body, so the request holds the process's one place until the rest arrives.
        held = socket.create_connection(("127.0.0.1", port))
        held.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Cookie: csrftoken={cookie}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        deadline = time.monotonic() + 10
        while True:  # until the held request has reached the views
            started = time.monotonic()
            api = httpx.get(base + "/api/flow-runs/", timeout=5)
            elapsed = time.monotonic() - started
            if api.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert api.status_code == 503, api.text
        assert elapsed < 2.0
        assert api.headers["retry-after"] == "1"
        assert "busy" in json.loads(api.text)["detail"]
        page = httpx.get(base + "/login/", timeout=5)
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]

        held.sendall(body[10:])
        held.settimeout(10)
        status_line = held.recv(100).split(b"\r\n")[0]
        assert status_line.startswith(b"HTTP/1.1 ") and b" 503 " not in status_line
        assert httpx.get(base + "/login/", timeout=5).status_code == 200
    finally:
        if held is not None:
            held.close()
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert b"Busy: answered" in stderr  # one line about refusals, not one per refusal
    assert stderr.count(b"Service Unavailable") == 0
