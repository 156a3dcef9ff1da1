"""Task runs over the API: filters, pages, detail with upstream and cache, states, logs."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from runs.states import now
from tests.runs.api import seed
from tests.runs.api.seed import api_client, walk


@pytest.fixture
def client():
    return api_client()


def ids(items):
    return [item["id"] for item in items]


@pytest.fixture
def flow_run_with_tasks():
    """A flow run with 6 task runs, a second apart, newest first in the returned list."""
    run = seed.flow_run()
    base = now() - dt.timedelta(minutes=5)
    specs = [
        ("FAILED", "load"),
        ("COMPLETED", "load"),
        ("COMPLETED", "extract"),
        ("CRASHED", "extract"),
        ("COMPLETED", "extract"),
        ("RUNNING", "load"),
    ]
    tasks = [
        seed.task_run(
            run,
            state=state,
            task_name=name,
            created=base - dt.timedelta(seconds=i),
            tags=["db"] if name == "load" else [],
        )
        for i, (state, name) in enumerate(specs)
    ]
    return run, tasks


def test_list_by_flow_run_newest_first(client, flow_run_with_tasks):
    run, tasks = flow_run_with_tasks

    items = walk(client, f"/api/task-runs/?flow_run={run.id}&page_size=4")

    assert ids(items) == [str(t.id) for t in tasks]
    assert items[0]["flow_run"] == str(run.id)


def test_list_filters(client, flow_run_with_tasks):
    run, tasks = flow_run_with_tasks
    base = f"/api/task-runs/?flow_run={run.id}"

    failed = walk(client, f"{base}&state=FAILED,CRASHED")
    load = walk(client, f"{base}&task=load")
    load_alias = walk(client, f"{base}&task_name=load")
    tagged_done = walk(client, f"{base}&tag=db&state_type=COMPLETED")
    running = walk(client, f"{base}&state_name=Running")

    assert ids(failed) == [str(tasks[0].id), str(tasks[3].id)]
    assert ids(load) == ids(load_alias) == [str(tasks[i].id) for i in (0, 1, 5)]
    assert ids(tagged_done) == [str(tasks[1].id)]
    assert ids(running) == [str(tasks[5].id)]


def test_failed_task_runs_across_flow_runs(client):
    name = seed.unique("task")
    failed = [seed.task_run(seed.flow_run(), state="FAILED", task_name=name) for _ in range(3)]
    seed.task_run(seed.flow_run(), state="COMPLETED", task_name=name)

    items = walk(client, f"/api/task-runs/?state=FAILED&task={name}")

    assert sorted(ids(items)) == sorted(str(t.id) for t in failed)


def test_time_range(client, flow_run_with_tasks):
    run, tasks = flow_run_with_tasks
    since = tasks[3].created.isoformat()
    until = tasks[1].created.isoformat()

    items = client.get(
        "/api/task-runs/", {"flow_run": str(run.id), "since": since, "until": until}
    ).json()["results"]

    assert ids(items) == [str(tasks[2].id), str(tasks[3].id)]


@pytest.mark.parametrize(
    "query, field",
    [
        ("flow_run=nope", "flow_run"),
        ("state=DONE", "state"),
        ("since=x", "since"),
        ("task=a%00", "task"),
    ],
)
def test_bad_filters(client, query, field):
    response = client.get(f"/api/task-runs/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_detail_has_upstream_run_count_and_cache(client):
    run = seed.flow_run()
    first = seed.task_run(run)
    second = seed.task_run(run)
    expires = now() + dt.timedelta(hours=1)
    cached = seed.task_run(
        run,
        state_name="Cached",
        run_count=2,
        cache_key="abc123",
        cache_expiration=expires,
        parameters={"x": 3},
    )
    seed.depends(cached, first, "x")
    seed.depends(cached, second, "y")

    body = client.get(f"/api/task-runs/{cached.id}/").json()

    assert sorted(body["upstream"]) == sorted([str(first.id), str(second.id)])
    assert body["run_count"] == 2
    assert body["cache_key"] == "abc123"
    assert body["cache_expiration"] == expires.isoformat().replace("+00:00", "Z")
    assert body["state"]["name"] == "Cached"
    assert body["parameters"] == {"x": 3}


def test_unknown_task_run_is_404(client):
    for path in (
        f"/api/task-runs/{uuid.uuid4()}/",
        "/api/task-runs/123/",
        f"/api/task-runs/{uuid.uuid4()}/states/",
        f"/api/task-runs/{uuid.uuid4()}/logs/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "detail" in response.json()


def test_states_and_logs(client):
    task = seed.task_run(seed.flow_run())
    seed.states(task, "PENDING", "RUNNING", "FAILED", "PENDING", "RUNNING", "COMPLETED")
    seed.log(task, "try 1 failed", 40)
    seed.log(task, "try 2", 20)

    history = walk(client, f"/api/task-runs/{task.id}/states/?page_size=4")
    errors = walk(client, f"/api/task-runs/{task.id}/logs/?level=40")
    everything = walk(client, f"/api/logs/?task_run={task.id}")

    assert [s["type"] for s in history] == [
        "PENDING",
        "RUNNING",
        "FAILED",
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    assert [line["message"] for line in errors] == ["try 1 failed"]
    assert [line["message"] for line in everything] == ["try 1 failed", "try 2"]


def test_log_list_filters(client):
    run = seed.flow_run()
    seed.log(run, "hello", 20)

    assert [line["message"] for line in walk(client, f"/api/logs/?flow_run={run.id}")] == ["hello"]
    bad = client.get("/api/logs/?flow_run=x&level=nope")
    assert bad.status_code == 400
    assert set(bad.json()) == {"flow_run", "level"}
