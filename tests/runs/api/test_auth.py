"""Who may call the API: tokens, sessions with CSRF, 401 for anyone else, the in-process mark."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from runs.api.auth import IN_PROCESS_KEY
from runs.registry import register_flow
from runs.services.tokens import create_token, list_tokens, revoke_token
from tests.runs.api import seed

ENDPOINTS = [
    "/api/flows/",
    "/api/flow-runs/",
    "/api/task-runs/",
    "/api/logs/",
    "/api/concurrency-limits/",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_requests_get_401(path):
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_anonymous_post_gets_401():
    response = APIClient().post("/api/flow-runs/", {"flow": "demo-caching"}, format="json")

    assert response.status_code == 401


def test_token_authenticates_until_revoked():
    user = seed.user()
    key = create_token(username=user.username).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get("/api/flow-runs/").status_code == 200
    assert revoke_token(username=user.username)
    assert client.get("/api/flow-runs/").status_code == 401
    assert not list_tokens(user.username)


def test_a_wrong_token_gets_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert client.get("/api/flow-runs/").status_code == 401


def test_session_writes_need_csrf():
    register_flow("runs.demo_flows:demo_caching")
    user = seed.user()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    read = browser.get("/api/flow-runs/")
    write = browser.post(
        "/api/flow-runs/", {"flow": "demo-caching"}, content_type="application/json"
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert "CSRF" in write.json()["detail"]


def test_session_write_with_csrf_token_works():
    register_flow("runs.demo_flows:demo_caching")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(seed.user())
    browser.get("/api/flow-runs/")
    token = "a" * 32
    browser.cookies["csrftoken"] = token

    response = browser.post(
        "/api/flow-runs/",
        {"flow": "demo-caching"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_RUNS_IN_PROCESS": "1"},
        {"HTTP_X_RUNS_IN_PROCESS": "true"},
        {IN_PROCESS_KEY: "True"},  # the key itself, but text as a server would put it
        {IN_PROCESS_KEY: True},
    ],
)
def test_the_in_process_mark_cannot_be_forged(extra):
    response = APIClient().get("/api/flow-runs/", **extra)

    assert response.status_code == 401


def test_values_the_database_refuses_are_a_400_on_any_endpoint():
    client = seed.api_client()

    by_tag = client.get("/api/concurrency-limits/tag/a%00b/")
    created = client.post(
        "/api/concurrency-limits/", {"tag": "a\x00b", "concurrency_limit": 1}, format="json"
    )

    # SQLite stores NUL characters; PostgreSQL refuses them: never a 500 either way.
    assert by_tag.status_code in (400, 404)
    assert created.status_code in (201, 400)
