"""What issue 6 is done by: a script using only httpx and a token, against a live server.

It lists failed task runs, starts a flow with parameters and polls it to completion (a real
``runs worker`` runs it), and creates, reads and deletes a concurrency limit.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from runs.registry import register_flow
from runs.services.tokens import create_token
from tests.runs.api import seed
from tests.runs.live_server import serving


@pytest.fixture
def server_and_token():
    register_flow("runs.demo_flows:demo_map")
    key = create_token(username=seed.user().username).key
    with serving() as url:
        yield url, key


def test_the_readme_script(server_and_token, runs_worker):
    url, token = server_and_token
    failed = seed.task_run(seed.flow_run(state="FAILED"), state="FAILED")
    api = httpx.Client(base_url=f"{url}/api", headers={"Authorization": f"Token {token}"})

    # failed task runs, newest first, every page
    failed_ids, page = [], "/task-runs/?state=FAILED"
    while page:
        body = api.get(page).raise_for_status().json()
        failed_ids += [run["id"] for run in body["results"]]
        page = body["next"]

    # start a flow with parameters and poll it to completion
    started = api.post("/flow-runs/", json={"flow": "demo-map", "parameters": {"count": 4}})
    run = started.json()
    deadline = time.monotonic() + 60
    while run["state"]["type"] not in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
        assert time.monotonic() < deadline, run
        time.sleep(0.2)
        run = api.get(run["url"]).json()
    tasks = api.get(f"/task-runs/?flow_run={run['id']}").json()["results"]

    # a concurrency limit
    tag = f"script-{uuid.uuid4().hex[:6]}"
    created = api.post("/concurrency-limits/", json={"tag": tag, "concurrency_limit": 3})
    read = api.get(f"/concurrency-limits/tag/{tag}/").json()
    deleted = api.delete(f"/concurrency-limits/tag/{tag}/")

    assert str(failed.id) in failed_ids
    assert started.status_code == 201
    assert run["state"]["type"] == "COMPLETED", run
    assert len(tasks) == 4
    assert created.status_code == 201
    assert (read["tag"], read["concurrency_limit"], read["active_slots"]) == (tag, 3, [])
    assert deleted.status_code == 204
    assert api.get(f"/concurrency-limits/tag/{tag}/").status_code == 404
