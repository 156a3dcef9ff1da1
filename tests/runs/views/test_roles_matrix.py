"""Every dashboard page and action against every role, anonymous included.

Anonymous visitors are sent to sign in; a role too low gets the 403 page (with the nav)
naming the role needed; pages hide the buttons a role cannot use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client

from runs import flow, task
from runs.models import State
from runs.orchestration.writer import writer
from runs.registry import register_flow
from runs.tasks import task_input_hash
from tests.runs.views.conftest import make_user, unique

ROLES = ("anonymous", "viewer", "operator", "admin")
RANK = {"viewer": 1, "operator": 2, "admin": 3}


@dataclass(frozen=True)
class Visit:
    """A page or an action: its path (``{run}``... filled per test), the form sent, the lowest
    role allowed and the status that role gets."""

    method: str
    path: str
    needs: str
    ok: int = 200
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


VISITS = [
    Visit("get", "/", "viewer"),
    Visit("get", "/flow-runs/", "viewer"),
    Visit("get", "/flow-runs/{run}/", "viewer"),
    Visit("get", "/task-runs/", "viewer"),
    Visit("get", "/task-runs/{task}/", "viewer"),
    Visit("get", "/flows/", "viewer"),
    Visit("get", "/flows/dashboard-quick/", "viewer"),
    Visit("get", "/flow-runs/{run}/logs.txt", "viewer"),
    Visit("get", "/task-runs/{task}/logs.txt", "viewer"),
    Visit("get", "/workers/", "viewer"),
    Visit("get", "/limits/", "viewer"),
    Visit("get", "/limits/{limit}/", "viewer"),
    Visit("get", "/cache/", "viewer"),
    Visit("post", "/flows/dashboard-quick/run/", "operator", 302, {"{prefix}-n": "2"}),
    Visit("post", "/flow-runs/{scheduled}/cancel/", "operator", 302),
    Visit("post", "/flow-runs/{run}/rerun/", "operator", 302),
    Visit("post", "/cache/expire/", "operator", 302, {"cache_key": "{cache_key}"}),
    Visit("post", "/cache/expire-task/", "operator", 302, {"task_key": "{task_key}"}),
    Visit("post", "/limits/", "admin", 302, {"tag": "{new_tag}", "concurrency_limit": "2"}),
    Visit("get", "/limits/{limit}/edit/", "admin"),
    Visit(
        "post", "/limits/{limit}/edit/", "admin", 302, {"tag": "{tag}", "concurrency_limit": "5"}
    ),
    Visit("get", "/limits/{limit}/delete/", "admin"),
    Visit("post", "/limits/{limit}/delete/", "admin", 302),
]


def _client(role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(make_user(role))
    return client


@task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))
def matrix_cached(salt: str) -> str:
    """A cached task of this module only: expiring its entries touches no other test's."""
    return salt


@flow(name="roles-matrix-cached")
def matrix_cached_flow(salt: str) -> str:
    return matrix_cached(salt)


def _cached_state() -> State:
    """The cache entry a fresh run of this module's cached task wrote."""
    state = matrix_cached_flow(unique("salt"), return_state=True)
    writer.flush()
    return State.objects.get(
        task_run__flow_run_id=state.flow_run_id,
        task_run__task_name="matrix_cached",
        type="COMPLETED",
    )


@pytest.fixture(scope="module")
def cached():
    return _cached_state()


@pytest.fixture(scope="module")
def clients() -> dict[str, Client]:
    """A signed-in client per role (one user each: hashing passwords is slow on purpose)."""
    return {role: _client(role) for role in ROLES}


@pytest.fixture(scope="module")
def quick():
    return register_flow("tests.runs.views.sample_flows:dashboard_quick")


def _new_limit(admin: Client) -> tuple[str, str]:
    """A new limit made from the dashboard: (its id, its tag)."""
    tag = unique("matrix")
    admin.post("/limits/", {"tag": tag, "concurrency_limit": "1"})
    page = admin.get("/limits/").content.decode()
    return page.split(f'<tr data-tag="{tag}">', 1)[1].split("/limits/", 1)[1][:36], tag


def _names(visit: Visit, clients, sample_run, cached, quick) -> dict[str, str]:
    """The ids a visit's path and form need: fresh ones for what a visit may change."""
    names = {
        "run": str(sample_run.id),
        "task": str(sample_run.task_runs.first().id),
        "new_tag": unique("matrix-new"),
        "cache_key": cached.cache_key,
        "task_key": cached.task_run.task_key,
        "prefix": f"f{quick.id}",
    }
    if "{limit}" in visit.path:
        names["limit"], names["tag"] = _new_limit(clients["admin"])
    if "{scheduled}" in visit.path:
        started = clients["admin"].post(f"/flows/{quick.name}/run/", {f"f{quick.id}-n": "3"})
        names["scheduled"] = started["Location"].strip("/").rsplit("/", 1)[1]
    return names


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("visit", VISITS, ids=str)
def test_each_role_gets_exactly_what_it_may_do(visit, role, clients, sample_run, cached, quick):
    names = _names(visit, clients, sample_run, cached, quick)
    path = visit.path.format(**names)
    data = {key.format(**names): value.format(**names) for key, value in visit.data.items()}

    response = getattr(clients[role], visit.method)(path, data)

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    elif RANK[role] >= RANK[visit.needs]:
        assert response.status_code == visit.ok, response.content[:500]
    else:
        assert response.status_code == 403
        html = response.content.decode()
        assert f"needs the {visit.needs.capitalize()} role" in html
        assert 'aria-label="Main"' in html  # the nav: the rest of the dashboard is a click away


def test_a_refused_action_changes_nothing(clients):
    state = _cached_state()
    viewer = clients["viewer"]

    expire = viewer.post("/cache/expire/", {"cache_key": state.cache_key})

    assert expire.status_code == 403
    html = viewer.get("/cache/", {"q": state.cache_key[:16]}).content.decode()
    assert f'data-cache-key="{state.cache_key}"' in html and "(expired)" not in html


def test_a_viewer_sees_no_buttons_for_actions_it_cannot_take(clients, quick):
    cached = _cached_state()
    _, tag = _new_limit(clients["admin"])
    viewer = clients["viewer"]

    flows = viewer.get("/flows/").content.decode()
    limits = viewer.get("/limits/").content.decode()
    cache = viewer.get("/cache/", {"q": cached.cache_key[:16]}).content.decode()

    assert "Run dashboard-quick" not in flows and "needs the Operator role" in flows
    assert tag in limits and 'id="limit-form"' not in limits and "/edit/" not in limits
    assert cached.cache_key in cache and "/cache/expire/" not in cache


def test_an_operator_sees_run_and_expire_but_not_limit_changes(clients, quick):
    cached = _cached_state()
    _, tag = _new_limit(clients["admin"])
    operator = clients["operator"]

    flows = operator.get("/flows/").content.decode()
    limits = operator.get("/limits/").content.decode()
    cache = operator.get("/cache/", {"q": cached.cache_key[:16]}).content.decode()

    assert "Run dashboard-quick" in flows
    assert tag in limits and 'id="limit-form"' not in limits and "/delete/" not in limits
    assert cached.cache_key in cache and "/cache/expire/" in cache


def test_an_admin_sees_every_button(clients):
    admin = clients["admin"]
    _new_limit(admin)

    limits = admin.get("/limits/").content.decode()

    assert 'id="limit-form"' in limits and "/edit/" in limits and "/delete/" in limits


def test_a_signed_in_user_without_a_role_is_refused_even_the_overview():
    client = Client()
    client.force_login(make_user(role=None))

    response = client.get("/")

    assert response.status_code == 403
    assert "needs the Viewer role" in response.content.decode()
