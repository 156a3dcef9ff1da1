"""Work queues over the API: create, list in pages, change, pause, delete, and their runs in
line order; who may do what; bad input is a 400 (or a 409 for a conflict) naming the field."""

from __future__ import annotations

import base64
import uuid

import pytest

from runs.registry import register_flow
from tests.runs.api import seed


@pytest.fixture(scope="module", autouse=True)
def needs_name_flow():
    register_flow("tests.runs.api.flows:needs_name")


def queue_name() -> str:
    return f"wq-{uuid.uuid4().hex[:10]}"


def make_queue(client, **fields) -> dict:
    response = client.post("/api/work-queues/", {"name": queue_name(), **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def start_in(client, queue: str, name: str = "x") -> dict:
    response = client.post(
        "/api/flow-runs/",
        {"flow": "api-needs-name", "parameters": {"name": name}, "work_queue": queue},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_create_read_and_list_a_queue():
    admin = seed.api_client("admin")
    made = make_queue(admin, concurrency_limit=2, description="nightly jobs")

    read = admin.get(f"/api/work-queues/{made['name']}/").json()
    listed = seed.walk(admin, "/api/work-queues/?page_size=2")

    assert made["url"].endswith(f"/api/work-queues/{made['name']}/")
    assert (read["concurrency_limit"], read["description"], read["paused"]) == (
        2,
        "nightly jobs",
        False,
    )
    assert (read["running"], read["waiting"], read["scheduled_later"], read["late"]) == (0, 0, 0, 0)
    names = [item["name"] for item in listed]
    assert made["name"] in names and "default" in names
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_pages_go_back_as_well_as_forward():
    admin = seed.api_client("admin")
    for _ in range(3):
        make_queue(admin)

    first = admin.get("/api/work-queues/?page_size=2").json()
    second = admin.get(first["next"]).json()
    back = admin.get(second["previous"]).json()

    assert first["previous"] is None
    assert [q["name"] for q in back["results"]] == [q["name"] for q in first["results"]]
    assert first["results"][-1]["name"] < second["results"][0]["name"]


def test_patch_changes_limit_description_and_pause_and_null_means_no_limit():
    admin = seed.api_client("admin")
    name = make_queue(admin, concurrency_limit=1)["name"]

    changed = admin.patch(
        f"/api/work-queues/{name}/",
        {"concurrency_limit": 5, "description": "d", "paused": True},
        format="json",
    )
    cleared = admin.patch(f"/api/work-queues/{name}/", {"concurrency_limit": None}, format="json")

    assert changed.status_code == 200, changed.content
    assert (changed.json()["concurrency_limit"], changed.json()["paused"]) == (5, True)
    assert cleared.json()["concurrency_limit"] is None
    assert cleared.json()["description"] == "d"


def test_a_paused_queue_holds_its_runs_in_line_with_their_places():
    admin = seed.api_client("admin")
    name = make_queue(admin, paused=True)["name"]
    first, second = start_in(admin, name, "a"), start_in(admin, name, "b")

    queue = admin.get(f"/api/work-queues/{name}/").json()
    waiting = seed.walk(admin, f"/api/work-queues/{name}/runs/?page_size=1")
    running = admin.get(f"/api/work-queues/{name}/runs/?status=running").json()["results"]

    assert (queue["paused"], queue["waiting"], queue["running"]) == (True, 2, 0)
    assert [(r["id"], r["place"]) for r in waiting] == [(first["id"], 1), (second["id"], 2)]
    assert waiting[0]["work_queue"] == name
    assert waiting[0]["state"]["type"] == "SCHEDULED"
    assert running == []
    # cancel them, so the queue can be deleted by other tests' clean-ups
    for run in (first, second):
        admin.post(f"/api/flow-runs/{run['id']}/cancel/")


def test_pause_and_resume():
    admin = seed.api_client("admin")
    name = make_queue(admin)["name"]

    paused = admin.post(f"/api/work-queues/{name}/pause/")
    resumed = admin.post(f"/api/work-queues/{name}/resume/")

    assert (paused.status_code, paused.json()["paused"]) == (200, True)
    assert (resumed.status_code, resumed.json()["paused"]) == (200, False)


def test_delete_a_queue_and_refusals_to_delete():
    admin = seed.api_client("admin")
    name = make_queue(admin, paused=True)["name"]
    busy = make_queue(admin, paused=True)["name"]
    run = start_in(admin, busy)

    deleted = admin.delete(f"/api/work-queues/{name}/")
    again = admin.get(f"/api/work-queues/{name}/")
    default = admin.delete("/api/work-queues/default/")
    in_use = admin.delete(f"/api/work-queues/{busy}/")

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert default.status_code == 409 and "default" in default.json()["name"][0]
    assert in_use.status_code == 409 and "unfinished" in in_use.json()["name"][0]
    admin.post(f"/api/flow-runs/{run['id']}/cancel/")


def test_a_taken_name_is_a_409_naming_the_field():
    admin = seed.api_client("admin")
    name = make_queue(admin)["name"]

    again = admin.post("/api/work-queues/", {"name": name}, format="json")

    assert again.status_code == 409
    assert "already exists" in again.json()["name"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "-dash-first"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": ["list"]}, "name"),
        ({"name": "ok", "concurrency_limit": -1}, "concurrency_limit"),
        ({"name": "ok", "concurrency_limit": "many"}, "concurrency_limit"),
        ({"name": "ok", "concurrency_limit": 2**31}, "concurrency_limit"),
        ({"name": "ok", "paused": "perhaps"}, "paused"),
        ({"name": "ok", "description": "nul\x00"}, "description"),
    ],
)
def test_bad_input_to_create_is_a_400_naming_the_field(body, field):
    response = seed.api_client("admin").post("/api/work-queues/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"concurrency_limit": -3}, "concurrency_limit"),
        ({"concurrency_limit": True}, "concurrency_limit"),
        ({"paused": "later"}, "paused"),
        ({"description": 12}, "description"),
    ],
)
def test_bad_input_to_patch_is_a_400_naming_the_field(body, field):
    admin = seed.api_client("admin")
    name = make_queue(admin)["name"]

    response = admin.patch(f"/api/work-queues/{name}/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_unknown_queues_and_bad_statuses():
    admin = seed.api_client("admin")

    assert admin.get("/api/work-queues/nope-nope-nope/").status_code == 404
    assert admin.patch("/api/work-queues/nope-nope/", {}, format="json").status_code == 404
    assert admin.post("/api/work-queues/nope-nope/pause/").status_code == 404
    assert admin.delete("/api/work-queues/nope-nope/").status_code == 404
    assert admin.get("/api/work-queues/nope-nope/runs/").status_code == 404
    bad = admin.get("/api/work-queues/default/runs/?status=sleeping")
    assert bad.status_code == 400 and "status" in bad.json()
    cursor = admin.get("/api/work-queues/?cursor=notacursor")
    assert cursor.status_code == 400 and "cursor" in cursor.json()
    forged = base64.urlsafe_b64encode(b'{"v":[1]}').decode().rstrip("=")
    wrong_kind = admin.get(f"/api/work-queues/?cursor={forged}")
    assert wrong_kind.status_code == 400 and "cursor" in wrong_kind.json()
    size = admin.get("/api/work-queues/?page_size=0")
    assert size.status_code == 400 and "page_size" in size.json()


def test_starting_a_flow_in_an_unknown_queue_is_a_400_naming_work_queue():
    response = seed.api_client("operator").post(
        "/api/flow-runs/",
        {"flow": "api-needs-name", "parameters": {"name": "x"}, "work_queue": "no-such-queue"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "work_queue" in response.json()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_read_but_cannot_change_queues(role):
    admin = seed.api_client("admin")
    name = make_queue(admin)["name"]
    client = seed.api_client(role)

    reads = [
        client.get("/api/work-queues/"),
        client.get(f"/api/work-queues/{name}/"),
        client.get(f"/api/work-queues/{name}/runs/"),
    ]
    writes = [
        client.post("/api/work-queues/", {"name": queue_name()}, format="json"),
        client.patch(f"/api/work-queues/{name}/", {"concurrency_limit": 0}, format="json"),
        client.post(f"/api/work-queues/{name}/pause/"),
        client.post(f"/api/work-queues/{name}/resume/"),
        client.delete(f"/api/work-queues/{name}/"),
    ]

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [r.status_code for r in writes] == [403] * 5
    assert "needs the Admin role" in writes[0].json()["detail"]
    kept = admin.get(f"/api/work-queues/{name}/").json()
    assert (kept["concurrency_limit"], kept["paused"]) == (None, False)


def test_anonymous_gets_401():
    from rest_framework.test import APIClient

    assert APIClient().get("/api/work-queues/").status_code == 401
