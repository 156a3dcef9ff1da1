"""Flow runs over the API: filters, keyset pages, detail, start, cancel, states and logs."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from runs.models import FlowRun
from runs.registry import register_flow
from runs.states import now
from tests.runs.api import seed
from tests.runs.api.seed import api_client, walk
from tests.runs.selectors.logged_flows import run_logged_flow


@pytest.fixture
def client():
    return api_client()


@pytest.fixture
def runs_of_one_flow():
    """Five runs of a new flow, a minute apart, newest first: 2 FAILED, 3 COMPLETED."""
    flow = seed.flow()
    base = now() - dt.timedelta(hours=1)
    types = ["FAILED", "COMPLETED", "FAILED", "COMPLETED", "COMPLETED"]
    runs = [
        seed.flow_run(
            flow,
            state=t,
            created=base - dt.timedelta(minutes=i),
            tags=["nightly"] if i % 2 == 0 else [],
        )
        for i, t in enumerate(types)
    ]
    return flow, runs


def ids(items):
    return [item["id"] for item in items]


def test_list_filters_by_flow_newest_first(client, runs_of_one_flow):
    flow, runs = runs_of_one_flow

    items = walk(client, f"/api/flow-runs/?flow={flow.name}")

    assert ids(items) == [str(r.id) for r in runs]
    assert items[0]["flow"] == flow.name
    assert items[0]["state"]["type"] == "FAILED"
    assert items[0]["created"].endswith("Z")


def test_list_filters_by_state_type_name_and_tag(client, runs_of_one_flow):
    flow, runs = runs_of_one_flow
    base = f"/api/flow-runs/?flow={flow.name}"

    failed = walk(client, f"{base}&state=failed")
    both = walk(client, f"{base}&state=FAILED,COMPLETED")
    by_name = walk(client, f"{base}&state_name=Completed")
    tagged = walk(client, f"{base}&tag=nightly")

    assert ids(failed) == [str(runs[0].id), str(runs[2].id)]
    assert len(both) == 5
    assert ids(by_name) == [str(runs[1].id), str(runs[3].id), str(runs[4].id)]
    assert ids(tagged) == [str(runs[0].id), str(runs[2].id), str(runs[4].id)]


def test_list_filters_by_time_range_and_search(client, runs_of_one_flow):
    flow, runs = runs_of_one_flow
    since = runs[3].created.isoformat().replace("+00:00", "Z")
    until = runs[1].created.isoformat().replace("+00:00", "Z")

    items = walk(client, f"/api/flow-runs/?flow={flow.name}&since={since}&until={until}")
    found = walk(client, f"/api/flow-runs/?search={runs[2].name[3:].upper()}")

    assert ids(items) == [str(runs[2].id), str(runs[3].id)]
    assert ids(found) == [str(runs[2].id)]


def test_list_filters_by_parent(client):
    parent = seed.flow_run()
    caller = seed.task_run(parent)
    child = seed.flow_run(parent_task_run=caller)
    seed.flow_run()  # unrelated

    by_task = walk(client, f"/api/flow-runs/?parent={caller.id}")
    by_flow_run = walk(client, f"/api/flow-runs/?parent={parent.id}")

    assert ids(by_task) == [str(child.id)]
    assert ids(by_flow_run) == [str(child.id)]
    assert by_task[0]["parent_task_run"] == str(caller.id)


@pytest.mark.parametrize(
    "query, field",
    [
        ("state=BOGUS", "state"),
        ("state_type=done", "state_type"),
        ("since=yesterday", "since"),
        ("until=2026-13-45", "until"),
        ("parent=not-a-uuid", "parent"),
        ("since=0001-01-01T00:00:00%2B01:00", "since"),
        ("page_size=0", "page_size"),
        ("page_size=abc", "page_size"),
        ("cursor=garbage", "cursor"),
        ("search=a%00b", "search"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(client, query, field):
    response = client.get(f"/api/flow-runs/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_a_time_with_any_offset_is_taken(client, runs_of_one_flow):
    flow, runs = runs_of_one_flow
    since = (runs[2].created - dt.timedelta(hours=21, minutes=16)).strftime("%Y-%m-%dT%H:%M:%S.%f")

    response = client.get(f"/api/flow-runs/?flow={flow.name}&since={since}-21:16")

    assert response.status_code == 200
    assert ids(response.json()["results"]) == [str(r.id) for r in runs[:3]]


def test_several_bad_filters_are_reported_together(client):
    response = client.get("/api/flow-runs/?state=nope&since=never")

    assert response.status_code == 400
    assert set(response.json()) == {"state", "since"}


def test_keyset_pages_walk_forward_and_back_without_gaps(client, runs_of_one_flow):
    flow, runs = runs_of_one_flow
    first = client.get(f"/api/flow-runs/?flow={flow.name}&page_size=2").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    back = client.get(third["previous"]).json()

    assert first["previous"] is None
    assert ids(first["results"] + second["results"] + third["results"]) == [str(r.id) for r in runs]
    assert third["next"] is None
    assert ids(back["results"]) == ids(second["results"])


def test_runs_created_in_the_same_instant_are_all_paged(client):
    flow = seed.flow()
    same = now()
    runs = [seed.flow_run(flow, created=same) for _ in range(5)]

    items = walk(client, f"/api/flow-runs/?flow={flow.name}&page_size=2")

    assert sorted(ids(items)) == sorted(str(r.id) for r in runs)
    assert len(items) == 5


def test_detail_has_task_runs_oldest_first(client):
    run = seed.flow_run(parameters={"x": 1})
    base = now()
    later = seed.task_run(run, created=base + dt.timedelta(seconds=1))
    earlier = seed.task_run(run, created=base)

    body = client.get(f"/api/flow-runs/{run.id}/").json()

    assert body["id"] == str(run.id)
    assert body["parameters"] == {"x": 1}
    assert ids(body["task_runs"]) == [str(earlier.id), str(later.id)]
    assert body["task_runs_url"].endswith(f"/api/task-runs/?flow_run={run.id}")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/flow-runs/{uuid.uuid4()}/",
        "/api/flow-runs/not-a-uuid/",
        f"/api/flow-runs/{uuid.uuid4()}/states/",
        f"/api/flow-runs/{uuid.uuid4()}/logs/",
        "/api/no-such-endpoint/",
    ],
)
def test_unknown_ids_are_a_json_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_states_oldest_first(client):
    run = seed.flow_run()
    seed.states(run, "SCHEDULED", "PENDING", "RUNNING", "COMPLETED")

    items = walk(client, f"/api/flow-runs/{run.id}/states/?page_size=3")

    assert [s["type"] for s in items] == ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]
    assert set(items[0]) >= {"type", "name", "message", "timestamp"}


def test_logs_include_task_runs_and_filter_by_level(client):
    run, _, _ = run_logged_flow(2)

    everything = walk(client, f"/api/flow-runs/{run.id}/logs/")
    warnings = walk(client, f"/api/flow-runs/{run.id}/logs/?level=warning")
    bad = client.get(f"/api/flow-runs/{run.id}/logs/?level=LOUD")

    assert [line["message"] for line in everything] == [
        "flow starts",
        "task warns about 2",
        "task prints 2",
        "flow ends badly",
    ]
    assert [(line["message"], line["level_name"]) for line in warnings] == [
        ("task warns about 2", "WARNING"),
        ("flow ends badly", "ERROR"),
    ]
    assert bad.status_code == 400 and "level" in bad.json()


# --- starting and cancelling -------------------------------------------------------------


@pytest.fixture
def demo_caching():
    return register_flow("runs.demo_flows:demo_caching")


def test_post_starts_a_registered_flow(client, demo_caching):
    response = client.post(
        "/api/flow-runs/", {"flow": "demo-caching", "parameters": {"x": "5"}}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    run = FlowRun.objects.get(id=body["id"])
    assert body["state"]["type"] == "SCHEDULED"
    assert run.parameters == {"x": 5}  # coerced to the annotation (int)
    assert response["Location"] == body["url"]
    assert client.get(body["url"]).json()["id"] == body["id"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"flow": "no-such-flow"}, "flow"),
        ({"parameters": {}}, "flow"),
        ({"flow": "demo-caching", "parameters": {"x": "seven"}}, "parameters"),
        ({"flow": "demo-caching", "parameters": {"y": 1}}, "parameters"),
        ({"flow": "demo-caching", "parameters": [1, 2]}, "parameters"),
        ({"flow": ["demo-caching"]}, "flow"),
        ({"flow": "demo-caching", "parameters": {"x": "a\x00"}}, "parameters"),
    ],
)
def test_bad_start_requests_are_a_400_naming_the_field(client, demo_caching, body, field):
    before = FlowRun.objects.count()

    response = client.post("/api/flow-runs/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert FlowRun.objects.count() == before


def test_bad_parameter_message_names_the_parameter(client, demo_caching):
    response = client.post(
        "/api/flow-runs/",
        {"flow": "demo-caching", "parameters": {"x": "seven", "y": 1}},
        format="json",
    )

    assert set(response.json()["parameters"]) == {"x", "y"}


def test_malformed_json_is_a_400(client):
    response = client.post("/api/flow-runs/", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_a_missing_required_parameter_is_named():
    register_flow("tests.runs.api.flows:needs_name")
    response = api_client().post("/api/flow-runs/", {"flow": "api-needs-name"}, format="json")

    assert response.status_code == 400
    assert "required" in response.json()["parameters"]["name"][0]


def test_cancel_a_scheduled_run_then_409(client):
    scheduled = seed.flow_run(state="SCHEDULED")  # no worker will pick this one up

    cancelled = client.post(f"/api/flow-runs/{scheduled.id}/cancel/")
    again = client.post(f"/api/flow-runs/{scheduled.id}/cancel/")

    assert cancelled.status_code == 200
    assert cancelled.json()["state"]["type"] == "CANCELLED"
    assert FlowRun.objects.get(id=scheduled.id).state_type == "CANCELLED"
    assert again.status_code == 409
    assert "already" in again.json()["detail"]


def test_a_started_run_cancelled_at_once_is_cancelled_or_409_never_left_running(
    client, demo_caching
):
    started = client.post("/api/flow-runs/", {"flow": "demo-caching"}, format="json").json()

    cancelled = client.post(f"/api/flow-runs/{started['id']}/cancel/")

    run = FlowRun.objects.get(id=started["id"])
    if cancelled.status_code == 200:  # a worker may have run it to the end first
        assert cancelled.json()["state"]["type"] == run.state_type == "CANCELLED"
    else:
        assert cancelled.status_code == 409 and run.state_type == "COMPLETED"


def test_a_worker_starting_a_run_while_a_cancel_commits_adopts_the_cancel():
    """The worker decides after the cancel's transaction, not beside it (PostgreSQL's
    READ COMMITTED would otherwise let its RUNNING overwrite the CANCELLED)."""
    import threading
    import time

    from django.db import connections, transaction

    from runs.orchestration import load_flow_run_record, propose_state, set_flow_run_state
    from runs.states import Cancelled, Running

    run = seed.flow_run(state="SCHEDULED")
    on_worker = load_flow_run_record(run.id)
    cancel_decided = threading.Event()

    def cancel_slowly():
        try:
            with transaction.atomic():
                set_flow_run_state(run.id, Cancelled("Cancelled by request."))
                cancel_decided.set()
                time.sleep(0.3)  # the worker proposes RUNNING while this is uncommitted
        finally:
            connections.close_all()

    canceller = threading.Thread(target=cancel_slowly)
    canceller.start()
    assert cancel_decided.wait(5)
    accepted = propose_state(on_worker, Running())
    canceller.join()

    run.refresh_from_db()
    assert accepted.type == "CANCELLED"
    assert run.state_type == "CANCELLED"
    assert list(run.states.values_list("type", flat=True)) == ["CANCELLED"]


def test_a_cancel_while_the_last_step_runs_is_not_overwritten_by_the_worker():
    from runs.orchestration import load_flow_run_record, propose_state
    from runs.services.flow_runs import cancel_flow_run
    from runs.states import Completed

    run = seed.flow_run(state="RUNNING")
    on_worker = load_flow_run_record(run.id)  # what the worker running it holds
    cancel_flow_run(flow_run_id=run.id)
    accepted = propose_state(on_worker, Completed())

    assert accepted.type == "CANCELLED" and on_worker.cancel_requested
    run.refresh_from_db()
    assert run.state_type == "CANCELLED"
    assert list(run.states.values_list("type", flat=True)) == ["CANCELLED"]


def test_cancel_unknown_run_is_404(client):
    assert client.post(f"/api/flow-runs/{uuid.uuid4()}/cancel/").status_code == 404


def test_a_forged_cursor_is_a_400_never_a_500(client):
    import base64
    import json

    def cursor(values) -> str:
        raw = json.dumps({"v": values}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for values in (
        ["0139-03-07T00:27:40-21:16", str(uuid.uuid4())],
        ["x", "y"],
        [1],
        ["0001-01-01T00:00:00+01:00", str(uuid.uuid4())],
        [None, None],
    ):
        response = client.get("/api/flow-runs/", {"cursor": cursor(values)})
        assert response.status_code in (200, 400), (values, response.content)


def test_nul_in_a_path_is_a_404():
    response = api_client().get("/api/flows/a%00b/")

    assert response.status_code == 404


def test_upcoming_false_leaves_out_runs_scheduled_for_later(client):
    import datetime as dt

    from runs.registry import register_flow
    from runs.services.flow_runs import cancel_flow_run, start_flow_run
    from runs.states import now

    register_flow("tests.runs.deploy_flows:hello")
    later = start_flow_run(
        flow_name="deploy-tests-hello", scheduled_time=now() + dt.timedelta(hours=1)
    )
    try:
        listed = client.get("/api/flow-runs/", {"flow": "deploy-tests-hello"}).json()["results"]
        assert str(later.id) in {run["id"] for run in listed}
        listed = client.get(
            "/api/flow-runs/", {"flow": "deploy-tests-hello", "upcoming": "false"}
        ).json()["results"]
        assert str(later.id) not in {run["id"] for run in listed}
        assert client.get("/api/flow-runs/", {"upcoming": "maybe"}).status_code == 400
    finally:
        cancel_flow_run(flow_run_id=later.id)
