"""runs' URLs included under a host's prefix: every link, redirect and API address follows it.

This module is its own URLconf: ``path("runs/", include("runs.urls"))`` beside a host's page,
as the README's "Add runs to your Django project" says.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from runs import flow, task
from runs.orchestration import writer
from runs.roles import set_role

urlpatterns = [
    path("", lambda request: HttpResponse("the host's home page"), name="host-home"),
    path("runs/", include("runs.urls")),
]

prefixed = override_settings(ROOT_URLCONF=__name__, LOGIN_URL="runs:login")

#: Links and form targets in a page: href, src, action and htmx's hx-get/hx-post.
LINK = re.compile(r'(?:href|src|action|hx-get|hx-post)="(/[^"]*)"')


@task
def prefix_task(x: int) -> int:
    return x + 1


@flow
def prefix_flow(x: int = 1) -> int:
    return prefix_task(x)


@pytest.fixture(scope="module")
def run_id():
    prefix_flow(1)
    writer.flush()
    from runs.models import FlowRun

    return FlowRun.objects.filter(flow__name=prefix_flow.name).latest("created").id


@pytest.fixture
def admin() -> Client:
    user = get_user_model().objects.create_user(username=f"p-{uuid.uuid4().hex[:8]}")
    set_role(user, "admin")
    client = Client()
    client.force_login(user)
    return client


def _links(html: str) -> list[str]:
    return [link for link in LINK.findall(html) if not link.startswith(("/static/", "//"))]


@prefixed
def test_every_dashboard_link_points_under_the_prefix(admin, run_id):
    pages = [
        "/runs/",
        "/runs/flow-runs/",
        f"/runs/flow-runs/{run_id}/",
        "/runs/task-runs/",
        "/runs/flows/",
        "/runs/limits/",
        "/runs/workers/",
        "/runs/cache/",
        "/runs/deployments/",
        "/runs/work-queues/",
    ]
    seen = 0
    for page in pages:
        response = admin.get(page)
        assert response.status_code == 200, page
        for link in _links(response.content.decode()):
            assert link.startswith("/runs/"), f"{page} links to {link}"
            seen += 1
    assert seen > 20


@prefixed
def test_the_api_lives_under_the_prefix(admin, run_id):
    response = admin.get("/runs/api/flow-runs/")
    assert response.status_code == 200
    assert any(r["id"] == str(run_id) for r in response.json()["results"])
    assert admin.get("/api/flow-runs/").status_code == 404
    schema = admin.get("/runs/api/schema/?format=json").json()
    assert all(p.startswith("/runs/api/") for p in schema["paths"])
    assert admin.get("/runs/api/docs/").status_code == 200


@prefixed
def test_api_errors_under_the_prefix_are_json():
    response = Client().get("/runs/api/flow-runs/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
    missing = Client().get("/runs/api/no-such-thing/")
    assert missing["Content-Type"].startswith("application/json")


@prefixed
def test_sign_in_and_out_stay_under_the_prefix():
    anonymous = Client()
    response = anonymous.get("/runs/flow-runs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/runs/login/?next=/runs/flow-runs/")
    page = anonymous.get("/runs/login/")
    assert 'action="/runs/login/"' in page.content.decode()
    user = get_user_model().objects.create_user(
        username=f"p-{uuid.uuid4().hex[:8]}", password="pw-123456"
    )
    set_role(user, "viewer")
    signed_in = anonymous.post("/runs/login/", {"username": user.username, "password": "pw-123456"})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/runs/"
    out = anonymous.post("/runs/logout/")
    assert out["Location"] == "/runs/login/"


@override_settings(ROOT_URLCONF=__name__, LOGIN_URL="/accounts/login/", LOGOUT_REDIRECT_URL=None)
def test_the_hosts_login_url_is_used_when_it_has_its_own():
    response = Client().get("/runs/flow-runs/")
    assert response["Location"].startswith("/accounts/login/?next=/runs/flow-runs/")


@prefixed
def test_the_in_process_client_finds_the_api_under_the_prefix(run_id):
    from runs.api.middleware import api_prefix

    assert api_prefix() == "/runs/api/"
