"""REST endpoints for concurrency limits: shapes, upsert, validation, 404s, pagination, auth."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient

from runs.models import FlowRun, TaskRun
from runs.states import now
from runs_limits.models import ConcurrencyLimit, ConcurrencySlot

BASE = "/api/concurrency-limits/"


def new_tag() -> str:
    return f"api-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def limits_urls():
    with override_settings(ROOT_URLCONF="tests.limits.urls"):
        yield


@pytest.fixture
def api() -> APIClient:
    """An Admin's client: changing limits needs that role (tests/runs/api/test_roles_matrix.py)."""
    from runs.roles import set_role

    user = get_user_model().objects.create_user(username=f"u-{uuid.uuid4().hex[:8]}")
    set_role(user, "admin")
    client = APIClient()
    client.force_authenticate(user)
    return client


def running_task_run(name: str) -> TaskRun:
    from runs.models import Flow

    flow, _ = Flow.objects.get_or_create(name=f"limits-api-{uuid.uuid4().hex[:6]}")
    flow_run = FlowRun.objects.create(
        flow=flow, name=name, state_type="RUNNING", state_name="Running", created=now()
    )
    return TaskRun.objects.create(
        flow_run=flow_run,
        name=name,
        task_key=name,
        task_name=name,
        state_type="RUNNING",
        state_name="Running",
        created=now(),
        start_time=now(),
    )


def test_post_creates_then_updates_the_same_tag(api):
    tag = new_tag()
    created = api.post(BASE, {"tag": tag, "concurrency_limit": 10}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "tag", "concurrency_limit", "active_slots"}
    assert (body["tag"], body["concurrency_limit"], body["active_slots"]) == (tag, 10, [])
    updated = api.post(BASE, {"tag": tag, "concurrency_limit": 3}, format="json")
    assert updated.status_code == 200 and updated.json()["id"] == body["id"]
    assert ConcurrencyLimit.objects.get(tag=tag).concurrency_limit == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tag": "", "concurrency_limit": 1}, "tag"),
        ({"tag": "   ", "concurrency_limit": 1}, "tag"),
        ({"concurrency_limit": 1}, "tag"),
        ({"tag": "x", "concurrency_limit": -1}, "concurrency_limit"),
        ({"tag": "x", "concurrency_limit": 1.5}, "concurrency_limit"),
        ({"tag": "x", "concurrency_limit": "two"}, "concurrency_limit"),
        ({"tag": "x", "concurrency_limit": True}, "concurrency_limit"),
        ({"tag": "x"}, "concurrency_limit"),
    ],
)
def test_post_rejects_bad_input_naming_the_field(api, payload, field):
    before = ConcurrencyLimit.objects.count()
    response = api.post(BASE, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert ConcurrencyLimit.objects.count() == before


def test_get_by_id_and_by_tag_show_active_slots(api):
    tag = new_tag()
    limit = ConcurrencyLimit.objects.create(tag=tag, concurrency_limit=2)
    holder = running_task_run("holder")
    ConcurrencySlot.objects.create(limit=limit, task_run=holder, acquired=now())
    by_id = api.get(f"{BASE}{limit.id}/").json()
    by_tag = api.get(f"{BASE}tag/{tag}/").json()
    assert by_id == by_tag
    assert by_id == {
        "id": str(limit.id),
        "tag": tag,
        "concurrency_limit": 2,
        "active_slots": [str(holder.id)],
    }


def test_patch_changes_the_limit_and_rejects_a_taken_tag(api):
    limit = ConcurrencyLimit.objects.create(tag=new_tag(), concurrency_limit=1)
    other = ConcurrencyLimit.objects.create(tag=new_tag(), concurrency_limit=1)
    response = api.patch(f"{BASE}{limit.id}/", {"concurrency_limit": 5}, format="json")
    assert response.status_code == 200 and response.json()["concurrency_limit"] == 5
    clash = api.patch(f"{BASE}{limit.id}/", {"tag": other.tag}, format="json")
    assert clash.status_code == 400 and "tag" in clash.json()
    negative = api.patch(f"{BASE}{limit.id}/", {"concurrency_limit": -2}, format="json")
    assert negative.status_code == 400 and "concurrency_limit" in negative.json()
    limit.refresh_from_db()
    assert limit.concurrency_limit == 5


def test_delete_by_id_and_by_tag(api):
    first = ConcurrencyLimit.objects.create(tag=new_tag(), concurrency_limit=1)
    second = ConcurrencyLimit.objects.create(tag=new_tag(), concurrency_limit=1)
    assert api.delete(f"{BASE}{first.id}/").status_code == 204
    assert api.delete(f"{BASE}tag/{second.tag}/").status_code == 204
    assert not ConcurrencyLimit.objects.filter(id__in=[first.id, second.id]).exists()


def test_unknown_limits_are_404_json(api):
    missing_tag = new_tag()
    for response in (
        api.get(f"{BASE}{uuid.uuid4()}/"),
        api.get(f"{BASE}tag/{missing_tag}/"),
        api.delete(f"{BASE}tag/{missing_tag}/"),
        api.patch(f"{BASE}{uuid.uuid4()}/", {"concurrency_limit": 1}, format="json"),
    ):
        assert response.status_code == 404
        assert "detail" in response.json()
    assert missing_tag in api.get(f"{BASE}tag/{missing_tag}/").json()["detail"]


def test_list_is_paginated_by_cursor_and_by_offset(api):
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    tags = [f"{prefix}-{i}" for i in range(5)]
    for tag in tags:
        ConcurrencyLimit.objects.create(tag=tag, concurrency_limit=1)
    seen, url = [], f"{BASE}?limit=2"
    while url:
        page = api.get(url).json()
        assert set(page) == {"results", "next", "previous"}
        seen += [item["tag"] for item in page["results"]]
        url = page["next"]
    assert [tag for tag in seen if tag.startswith(prefix)] == tags
    assert seen == sorted(seen)
    everything = ConcurrencyLimit.objects.order_by("tag").values_list("tag", flat=True)
    start = list(everything).index(tags[0])
    page = api.get(f"{BASE}?limit=2&offset={start + 1}").json()
    assert [item["tag"] for item in page["results"]] == tags[1:3]
    assert page["previous"] is not None and page["next"] is not None
    assert api.get(f"{BASE}?offset=-1").status_code == 400


def test_limits_page_like_runs_with_keyset_cursors_and_the_same_errors(api):
    prefix = f"keyset-{uuid.uuid4().hex[:6]}"
    tags = [f"{prefix}-{i}" for i in range(4)]
    for tag in tags:
        assert (
            api.post(BASE, {"tag": tag, "concurrency_limit": 1}, format="json").status_code == 201
        )
    everything = [item["tag"] for item in api.get(f"{BASE}?limit=1000").json()["results"]]
    start = everything.index(tags[0])

    page = api.get(f"{BASE}?limit=2&offset={start + 1}").json()
    earlier = api.get(page["previous"]).json()
    later = api.get(page["next"]).json()

    assert [item["tag"] for item in page["results"]] == tags[1:3]
    assert "cursor=" in page["next"] and "offset=" not in page["next"]
    assert [item["tag"] for item in earlier["results"]][-1] == tags[0]
    assert [item["tag"] for item in later["results"]][0] == tags[3]
    bad_cursor = api.get(f"{BASE}?cursor=nonsense")
    assert bad_cursor.status_code == 400 and set(bad_cursor.json()) == {"cursor"}
    bad_size = api.get(f"{BASE}?limit=0")
    assert bad_size.status_code == 400 and set(bad_size.json()) == {"limit"}
    missing = api.get(f"{BASE}{uuid.uuid4()}/")
    assert missing.status_code == 404 and set(missing.json()) == {"detail"}
    nul = api.get(f"{BASE}tag/a%00b/")
    assert nul.status_code == 404 and set(nul.json()) == {"detail"}


def test_anonymous_requests_get_401():
    anonymous = APIClient()
    assert anonymous.get(BASE).status_code == 401
    assert (
        anonymous.post(BASE, {"tag": "x", "concurrency_limit": 1}, format="json").status_code == 401
    )


def test_schema_describes_the_limit_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="tests.limits.urls").get_schema(request=None, public=True)
    paths = schema["paths"]
    assert {
        "/api/concurrency-limits/",
        "/api/concurrency-limits/{limit_id}/",
        "/api/concurrency-limits/tag/{tag}/",
    } <= set(paths)
    assert {"get", "post"} <= set(paths["/api/concurrency-limits/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/concurrency-limits/{limit_id}/"])


def _project_routes_limits() -> bool:
    from django.urls import Resolver404, resolve

    try:
        return resolve(BASE, urlconf="runs_project.urls").url_name == "concurrency-limit-list"
    except Resolver404:
        return False


@pytest.mark.skipif(
    not _project_routes_limits(),
    reason="runs/api/urls.py does not include runs_limits.api.urls yet",
)
def test_project_api_serves_the_limit_endpoints(api):
    with override_settings(ROOT_URLCONF="runs_project.urls"):
        tag = new_tag()
        assert (
            api.post(BASE, {"tag": tag, "concurrency_limit": 1}, format="json").status_code == 201
        )
        assert api.get(f"{BASE}tag/{tag}/").json()["tag"] == tag
