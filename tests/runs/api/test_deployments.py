"""Deployments over the API: create with schedules, read by id and by name, list in pages,
change, pause, delete, schedules of their own, "Run now" on a real worker, and starting a
deployment through POST /api/flow-runs/; roles; bad input is a 400 naming the field."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from runs.registry import register_flow
from runs.states import now
from tests.runs.api import seed
from tests.workers import start_worker

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="module", autouse=True)
def needs_name_flow():
    register_flow("tests.runs.api.flows:needs_name")


@pytest.fixture
def admin():
    return seed.api_client("admin")


def deployment_name() -> str:
    return f"dep-{uuid.uuid4().hex[:10]}"


def make_queue(client, **fields) -> str:
    name = f"wq-{uuid.uuid4().hex[:10]}"
    response = client.post("/api/work-queues/", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return name


def make_deployment(client, **fields) -> dict:
    body = {"flow": "api-needs-name", "name": deployment_name(), **fields}
    response = client.post("/api/deployments/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_with_a_schedule_and_read_it_by_id_and_by_name(admin):
    made = make_deployment(
        admin,
        parameters={"name": "ab", "times": "2"},
        tags=["etl", "nightly"],
        description="every day",
        catchup="skip",
        schedules=[{"kind": "interval", "value": "1h30m"}],
    )

    by_id = admin.get(f"/api/deployments/{made['id']}/").json()
    flow, name = made["full_name"].split("/")
    by_name = admin.get(f"/api/deployments/name/{flow}/{name}/").json()

    assert made["full_name"] == f"api-needs-name/{made['name']}"
    assert (made["flow"], made["work_queue"], made["catchup"]) == (
        "api-needs-name",
        "default",
        "skip",
    )
    assert made["parameters"] == {"name": "ab", "times": 2}  # coerced by the flow's signature
    assert made["tags"] == ["etl", "nightly"]
    [schedule] = made["schedules"]
    assert (schedule["kind"], schedule["value"], schedule["active"]) == ("interval", "5400", True)
    assert "1 hour" in schedule["description"] or "90 minutes" in schedule["description"]
    assert by_id["id"] == by_name["id"] == made["id"]
    assert by_id["upcoming"] == [] and by_id["recent"] == [] and by_id["last_run"] is None


def test_list_in_pages_filtered_by_flow_and_queue(admin):
    queue = make_queue(admin)
    made = [make_deployment(admin, work_queue=queue) for _ in range(3)]

    listed = seed.walk(admin, f"/api/deployments/?work_queue={queue}&page_size=2")
    by_flow = seed.walk(admin, "/api/deployments/?flow=api-needs-name")

    assert sorted(d["id"] for d in listed) == sorted(d["id"] for d in made)
    assert [d["name"] for d in listed] == sorted(d["name"] for d in made)
    assert {d["id"] for d in made} <= {d["id"] for d in by_flow}
    assert all(d["flow"] == "api-needs-name" for d in by_flow)


def test_patch_pause_resume_and_delete(admin):
    queue = make_queue(admin)
    made = make_deployment(admin, parameters={"name": "a"})
    url = f"/api/deployments/{made['id']}/"

    changed = admin.patch(
        url,
        {"parameters": {"name": "b"}, "work_queue": queue, "tags": ["t"], "catchup": "all"},
        format="json",
    ).json()
    paused = admin.post(f"{url}pause/").json()
    resumed = admin.post(f"{url}resume/").json()
    paused_by_patch = admin.patch(url, {"paused": True}, format="json").json()
    deleted = admin.delete(url)

    assert (changed["parameters"], changed["work_queue"], changed["tags"], changed["catchup"]) == (
        {"name": "b"},
        queue,
        ["t"],
        "all",
    )
    assert (paused["paused"], resumed["paused"], paused_by_patch["paused"]) == (True, False, True)
    assert deleted.status_code == 204
    assert admin.get(url).status_code == 404


def test_schedules_of_their_own(admin):
    made = make_deployment(admin, parameters={"name": "a"})
    url = f"/api/deployments/{made['id']}/schedules/"

    added = admin.post(
        url, {"kind": "cron", "value": "0 9 * * 1-5", "timezone": "Europe/Paris"}, format="json"
    )
    schedule = added.json()
    off = admin.patch(f"{url}{schedule['id']}/", {"active": False}, format="json")
    changed = admin.patch(f"{url}{schedule['id']}/", {"value": "30 8 * * *"}, format="json")
    listed = admin.get(url).json()
    deleted = admin.delete(f"{url}{schedule['id']}/")

    assert added.status_code == 201, added.content
    assert "Europe/Paris" in schedule["description"]
    assert off.json()["active"] is False
    assert (changed.json()["value"], changed.json()["timezone"], changed.json()["active"]) == (
        "30 8 * * *",
        "Europe/Paris",
        False,
    )
    assert [s["id"] for s in listed] == [schedule["id"]]
    assert deleted.status_code == 204
    assert admin.get(url).json() == []


def test_a_schedule_of_another_deployment_is_not_found(admin):
    one = make_deployment(admin, parameters={"name": "a"})
    other = make_deployment(
        admin, parameters={"name": "a"}, schedules=[{"kind": "interval", "value": "60"}]
    )
    schedule_id = other["schedules"][0]["id"]

    response = admin.patch(
        f"/api/deployments/{one['id']}/schedules/{schedule_id}/", {"active": False}, format="json"
    )

    assert response.status_code == 404


def test_run_later_waits_with_the_deployments_defaults_queue_and_tags(admin):
    queue = make_queue(admin)
    made = make_deployment(
        admin, parameters={"name": "ab"}, work_queue=queue, tags=["from-deployment"]
    )
    later = now() + dt.timedelta(hours=1)

    response = seed.api_client("operator").post(
        f"/api/deployments/{made['id']}/run/",
        {"parameters": {"times": 3}, "scheduled_time": later.isoformat()},
        format="json",
    )
    run = response.json()

    assert response.status_code == 201, response.content
    assert response["Location"] == run["url"]
    assert run["parameters"] == {"name": "ab", "times": 3}
    assert (run["deployment"], run["work_queue"], run["tags"]) == (
        made["id"],
        queue,
        ["from-deployment"],
    )
    assert run["state"]["type"] == "SCHEDULED" and run["auto_scheduled"] is False
    assert dt.datetime.fromisoformat(run["expected_start_time"].replace("Z", "+00:00")) == later
    upcoming = admin.get(f"/api/deployments/{made['id']}/").json()["upcoming"]
    assert [r["id"] for r in upcoming] == [run["id"]]
    admin.post(f"/api/flow-runs/{run['id']}/cancel/")


def _wait_final(client, url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(url).json()
        if run["state"]["type"] in FINAL or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def test_a_deployment_run_completes_on_a_worker_of_its_queue(admin, tmp_path):
    queue = make_queue(admin)
    made = make_deployment(admin, parameters={"name": "ab", "times": 2}, work_queue=queue)
    worker = start_worker(tmp_path, queue=queue)
    try:
        by_deployment = admin.post(
            "/api/flow-runs/", {"deployment": made["full_name"]}, format="json"
        )
        run_now = admin.post(f"/api/deployments/{made['id']}/run/", {}, format="json")
        finished = [_wait_final(admin, r.json()["url"]) for r in (by_deployment, run_now)]
    finally:
        worker.stop()

    assert [r["state"]["type"] for r in finished] == ["COMPLETED", "COMPLETED"], worker.log()
    assert all(r["work_queue"] == queue and r["deployment"] == made["id"] for r in finished)
    detail = admin.get(f"/api/deployments/{made['id']}/").json()
    assert detail["last_run"]["id"] in {r["id"] for r in finished}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "flow"),
        ({"flow": "no-such-flow", "name": "x"}, "flow"),
        ({"flow": "api-needs-name"}, "name"),
        ({"flow": "api-needs-name", "name": "   "}, "name"),
        ({"flow": "api-needs-name", "name": "x" * 201}, "name"),
        ({"flow": "api-needs-name", "name": 5}, "name"),
        ({"parameters": {"times": "many"}}, "parameters"),
        ({"parameters": {"unknown": 1}}, "parameters"),
        ({"parameters": ["not", "an", "object"]}, "parameters"),
        ({"parameters": {"name": "nul\x00"}}, "parameters"),
        ({"work_queue": "no-such-queue"}, "work_queue"),
        ({"work_queue": "bad name"}, "work_queue"),
        ({"tags": "etl"}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"catchup": "sometimes"}, "catchup"),
        ({"paused": "maybe"}, "paused"),
        ({"schedules": {"kind": "cron"}}, "schedules"),
        ({"schedules": [{"kind": "weekly", "value": "x"}]}, "schedules[0].kind"),
        ({"schedules": [{"kind": "cron"}]}, "schedules[0].value"),
        ({"schedules": [{"kind": "cron", "value": "every day"}]}, "schedules[0].value"),
        ({"schedules": [{"kind": "interval", "value": "0"}]}, "schedules[0].value"),
        ({"schedules": [{"kind": "interval", "value": "-1"}]}, "schedules[0].value"),
        ({"schedules": [{"kind": "interval", "value": "abc"}]}, "schedules[0].value"),
        ({"schedules": [{"kind": "rrule", "value": "FREQ=SOMETIMES"}]}, "schedules[0].value"),
        (
            {"schedules": [{"kind": "cron", "value": "* * * * *", "timezone": "Mars/Olympus"}]},
            "schedules[0].timezone",
        ),
        (
            {"schedules": [{"kind": "interval", "value": "60", "anchor": "yesterday"}]},
            "schedules[0].anchor",
        ),
        (
            {
                "schedules": [
                    {"kind": "interval", "value": "60"},
                    {"kind": "interval", "value": "abc"},
                ]
            },
            "schedules[1].value",
        ),
    ],
)
def test_bad_input_to_create_is_a_400_naming_the_field(admin, body, field):
    base = {"flow": "api-needs-name", "name": deployment_name(), "parameters": {"name": "a"}}
    # A body naming the flow or the deployment is whole; the others change a good one.
    full = body if ("flow" in body or "name" in body) else {**base, **body}

    response = admin.post("/api/deployments/", full, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_a_required_parameter_missing_with_a_schedule_is_refused(admin):
    response = admin.post(
        "/api/deployments/",
        {
            "flow": "api-needs-name",
            "name": deployment_name(),
            "schedules": [{"kind": "interval", "value": "60"}],
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "parameters" in response.json()


def test_a_taken_name_is_a_409_naming_the_field(admin):
    made = make_deployment(admin)

    again = admin.post(
        "/api/deployments/", {"flow": "api-needs-name", "name": made["name"]}, format="json"
    )

    assert again.status_code == 409, again.content
    assert "name" in again.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parameters": {"times": "many"}}, "parameters"),
        ({"work_queue": "no-such-queue"}, "work_queue"),
        ({"tags": [3]}, "tags"),
        ({"catchup": "never"}, "catchup"),
        ({"description": None}, "description"),
    ],
)
def test_bad_input_to_patch_is_a_400_naming_the_field(admin, body, field):
    made = make_deployment(admin, parameters={"name": "a"})

    response = admin.patch(f"/api/deployments/{made['id']}/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parameters": {"times": "many"}}, "parameters"),
        ({"parameters": "name=x"}, "parameters"),
        ({"scheduled_time": "tomorrow"}, "scheduled_time"),
    ],
)
def test_bad_input_to_run_is_a_400_naming_the_field(admin, body, field):
    made = make_deployment(admin, parameters={"name": "a"})

    response = admin.post(f"/api/deployments/{made['id']}/run/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_run_without_a_required_parameter_names_it(admin):
    made = make_deployment(admin)

    response = admin.post(f"/api/deployments/{made['id']}/run/", {}, format="json")

    assert response.status_code == 400, response.content
    assert "parameters" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "cron", "value": "61 * * * *"}, "value"),
        ({"kind": "interval", "value": "60", "timezone": "Nowhere/City"}, "timezone"),
        ({"kind": "yearly", "value": "1"}, "kind"),
        ({"value": "60"}, "kind"),
    ],
)
def test_bad_schedules_are_a_400_naming_the_field(admin, body, field):
    made = make_deployment(admin, parameters={"name": "a"})

    added = admin.post(f"/api/deployments/{made['id']}/schedules/", body, format="json")

    assert added.status_code == 400, added.content
    assert field in added.json(), added.json()


def test_starting_by_deployment_on_flow_runs(admin):
    made = make_deployment(
        admin, parameters={"name": "a"}, work_queue=make_queue(admin, paused=True)
    )
    operator = seed.api_client("operator")

    by_id = operator.post(
        "/api/flow-runs/",
        {"deployment": str(made["id"]), "parameters": {"times": 2}},
        format="json",
    )
    both = operator.post(
        "/api/flow-runs/",
        {"deployment": made["full_name"], "flow": "api-needs-name"},
        format="json",
    )
    neither = operator.post("/api/flow-runs/", {"parameters": {}}, format="json")
    unknown = operator.post("/api/flow-runs/", {"deployment": "no/such"}, format="json")
    queue_too = operator.post(
        "/api/flow-runs/", {"deployment": made["full_name"], "work_queue": "default"}, format="json"
    )

    assert by_id.status_code == 201, by_id.content
    assert by_id.json()["parameters"] == {"name": "a", "times": 2}
    assert by_id.json()["deployment"] == made["id"]
    assert (both.status_code, neither.status_code) == (400, 400)
    assert "flow" in both.json() and "flow" in neither.json()
    assert unknown.status_code == 400 and "deployment" in unknown.json()
    assert queue_too.status_code == 400 and "work_queue" in queue_too.json()
    admin.post(f"/api/flow-runs/{by_id.json()['id']}/cancel/")


def test_unknown_deployments_are_404(admin):
    assert admin.get("/api/deployments/999999999/").status_code == 404
    assert admin.get(f"/api/deployments/{2**70}/").status_code == 404
    assert admin.get("/api/deployments/name/no/such/").status_code == 404
    assert admin.post("/api/deployments/999999999/run/", {}, format="json").status_code == 404
    assert admin.get("/api/deployments/999999999/schedules/").status_code == 404
    assert admin.delete("/api/deployments/999999999/").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_roles_read_and_only_admins_change_deployments(admin, role):
    made = make_deployment(
        admin, parameters={"name": "a"}, work_queue=make_queue(admin, paused=True)
    )
    url = f"/api/deployments/{made['id']}/"
    client = seed.api_client(role)

    reads = [client.get("/api/deployments/"), client.get(url), client.get(f"{url}schedules/")]
    writes = [
        client.post("/api/deployments/", {"flow": "api-needs-name", "name": "z"}, format="json"),
        client.patch(url, {"tags": ["changed"]}, format="json"),
        client.post(f"{url}pause/"),
        client.post(f"{url}resume/"),
        client.post(f"{url}schedules/", {"kind": "interval", "value": "60"}, format="json"),
        client.delete(url),
    ]
    run = client.post(f"{url}run/", {}, format="json")

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [r.status_code for r in writes] == [403] * 6
    assert "needs the Admin role" in writes[0].json()["detail"]
    assert run.status_code == (201 if role == "operator" else 403), run.content
    assert admin.get(url).json()["tags"] == []
    if run.status_code == 201:
        admin.post(f"/api/flow-runs/{run.json()['id']}/cancel/")
