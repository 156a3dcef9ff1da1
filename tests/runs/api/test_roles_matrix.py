"""Every API endpoint against every role, anonymous included.

Reading needs Viewer; starting and cancelling flow runs needs Operator; changing concurrency
limits needs Admin. Refusals are a JSON 403 naming the role; anonymous requests get 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from runs.client import SyncClient
from runs.registry import register_flow
from tests.runs.api import seed
from tests.runs.selectors.logged_flows import run_logged_flow

ROLES = ("anonymous", "viewer", "operator", "admin")
RANK = {"viewer": 1, "operator": 2, "admin": 3}


@dataclass(frozen=True)
class Call:
    """One endpoint and method: the path (``{run}``, ``{task}``, ... filled per test), its body,
    the lowest role allowed and the status that role gets."""

    method: str
    path: str
    needs: str
    ok: tuple[int, ...] = (200,)
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


CALLS = [
    Call("get", "/api/flows/", "viewer"),
    Call("get", "/api/flows/api-needs-name/", "viewer"),
    Call("get", "/api/flow-runs/", "viewer"),
    Call("get", "/api/flow-runs/{run}/", "viewer"),
    Call("get", "/api/flow-runs/{run}/states/", "viewer"),
    Call("get", "/api/flow-runs/{run}/logs/", "viewer"),
    Call("get", "/api/task-runs/", "viewer"),
    Call("get", "/api/task-runs/{task}/", "viewer"),
    Call("get", "/api/task-runs/{task}/states/", "viewer"),
    Call("get", "/api/task-runs/{task}/logs/", "viewer"),
    Call("get", "/api/logs/", "viewer"),
    Call("get", "/api/concurrency-limits/", "viewer"),
    Call("get", "/api/concurrency-limits/{limit}/", "viewer"),
    Call("get", "/api/concurrency-limits/tag/{tag}/", "viewer"),
    Call(
        "post",
        "/api/flow-runs/",
        "operator",
        (201,),
        {"flow": "api-needs-name", "parameters": {"name": "x"}},
    ),
    # A worker may finish the new run before the cancel: 409 then, still allowed.
    Call("post", "/api/flow-runs/{scheduled}/cancel/", "operator", (200, 409)),
    Call(
        "post",
        "/api/concurrency-limits/",
        "admin",
        (201,),
        {"tag": "{new_tag}", "concurrency_limit": 2},
    ),
    Call("patch", "/api/concurrency-limits/{limit}/", "admin", (200,), {"concurrency_limit": 3}),
    Call("delete", "/api/concurrency-limits/{limit}/", "admin", (204,)),
    Call("delete", "/api/concurrency-limits/tag/{tag}/", "admin", (204,)),
]


@pytest.fixture(scope="module")
def finished_run():
    """A run of a flow with two task runs and log lines, run to the end."""
    run, warned, _ = run_logged_flow(2)
    return run, warned


def _client(role: str) -> APIClient:
    if role == "anonymous":
        return APIClient()
    return seed.api_client(role)


def _fill(value, names: dict[str, str]):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def clients() -> dict[str, APIClient]:
    return {role: _client(role) for role in ROLES}


def _names(call: Call, admin: APIClient, finished_run) -> dict[str, str]:
    """The ids a call's path needs: fresh ones for what a call may change."""
    run, task = finished_run
    names = {"run": str(run.id), "task": str(task.id), "new_tag": seed.unique("matrix-new")}
    if "{limit}" in call.path or "{tag}" in call.path:
        names["tag"] = seed.unique("matrix")
        made = admin.post("/api/concurrency-limits/", {"tag": names["tag"], "concurrency_limit": 1})
        assert made.status_code == 201, made.content
        names["limit"] = made.json()["id"]
    if "{scheduled}" in call.path:
        started = admin.post(
            "/api/flow-runs/",
            {"flow": "api-needs-name", "parameters": {"name": "y"}},
            format="json",
        )
        assert started.status_code == 201, started.content
        names["scheduled"] = started.json()["id"]
    return names


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_each_role_gets_exactly_what_it_may_do(call, role, clients, finished_run):
    register_flow("tests.runs.api.flows:needs_name")
    names = _names(call, clients["admin"], finished_run)

    response = getattr(clients[role], call.method)(
        _fill(call.path, names), _fill(call.body, names), format="json"
    )

    if role == "anonymous":
        assert response.status_code == 401, response.content
        assert response.json()["detail"]
    elif RANK[role] >= RANK[call.needs]:
        assert response.status_code in call.ok, response.content
    else:
        assert response.status_code == 403, response.content
        detail = response.json()["detail"]
        assert f"needs the {call.needs.capitalize()} role" in detail
        assert "ask an Admin" in detail


def test_a_refused_write_changes_nothing():
    tag = seed.unique("kept")
    seed.api_client("admin").post("/api/concurrency-limits/", {"tag": tag, "concurrency_limit": 4})
    operator = seed.api_client("operator")

    zeroed = operator.post("/api/concurrency-limits/", {"tag": tag, "concurrency_limit": 0})
    deleted = operator.delete(f"/api/concurrency-limits/tag/{tag}/")

    assert (zeroed.status_code, deleted.status_code) == (403, 403)
    kept = seed.api_client("viewer").get(f"/api/concurrency-limits/tag/{tag}/")
    assert kept.json()["concurrency_limit"] == 4


def test_a_user_without_any_role_may_not_even_read():
    client = seed.api_client(role=None)

    response = client.get("/api/flow-runs/")

    assert response.status_code == 403
    assert "needs the Viewer role" in response.json()["detail"]


def test_a_new_role_applies_to_the_next_request():
    from runs.roles import set_role

    user = seed.user("viewer")
    client = APIClient()
    client.force_authenticate(user)
    tag = seed.unique("raised")
    body = {"tag": tag, "concurrency_limit": 1}

    before = client.post("/api/concurrency-limits/", body)
    set_role(user, "admin")
    after = client.post("/api/concurrency-limits/", body)

    assert (before.status_code, after.status_code) == (403, 201)


def test_an_unsupported_method_is_still_405_not_403():
    response = seed.api_client("viewer").put("/api/flow-runs/", {}, format="json")

    assert response.status_code == 405


def test_the_in_process_client_keeps_full_access():
    tag = seed.unique("in-process")
    with SyncClient() as client:
        client.create_concurrency_limit(tag, 2)
        made = client.read_concurrency_limit_by_tag(tag)
        client.delete_concurrency_limit_by_tag(tag)

    assert made.concurrency_limit == 2
