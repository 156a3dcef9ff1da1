"""The API never answers a 500 for what a request holds, and its errors are always JSON
(issue 14, item 4); the 500s that still happen are logged with their traceback."""

from __future__ import annotations

import io
import logging
import stat
from unittest import mock

import pytest
from django.test import override_settings

from runs import flow
from runs.api.parsers import MAX_JSON_DEPTH
from runs.log_config import log_file
from runs.registry import register_flow
from tests.runs.api.seed import api_client
from tests.runs.selectors.logged_flows import run_logged_flow

ODD_LEVELS = {
    "superscript-2": "²",
    "arabic-indic-3": "٣",
    "negative": "-1",
    "word": "abc",
    "20-digits": "99999999999999999999",
    "5000-digits": "1" * 5000,
    "over-the-column": "32768",
}


@flow(name="api-no500-takes-anything")
def takes_anything(value=None, items=None, keys=None, values=None):
    """Parameters of any shape, some named like a dict's methods."""
    return value


@pytest.fixture
def client():
    client = api_client()
    client.raise_request_exception = False
    return client


@pytest.fixture(scope="module")
def logged_run():
    return run_logged_flow()


@pytest.fixture(scope="module")
def any_flow():
    register_flow(f"{__name__}:takes_anything")
    return "api-no500-takes-anything"


def nested(depth: int) -> str:
    """JSON text of ``depth`` arrays, one inside the other."""
    return "[" * depth + "1" + "]" * depth


def start_body(parameter: str) -> str:
    return f'{{"flow": "api-no500-takes-anything", "parameters": {{"value": {parameter}}}}}'


@pytest.mark.parametrize("level", ODD_LEVELS.values(), ids=ODD_LEVELS.keys())
def test_an_odd_level_is_a_400_naming_level(client, logged_run, level):
    run, warned, _ = logged_run

    for path in (
        f"/api/flow-runs/{run.id}/logs/",
        f"/api/task-runs/{warned.id}/logs/",
        "/api/logs/",
        f"/api/logs/?flow_run={run.id}",
    ):
        response = client.get(path, {"level": level})
        assert response.status_code == 400, (path, level, response.content[:200])
        assert "is not a log level" in response.json()["level"][0]


@pytest.mark.parametrize("level, count", [("WARNING", 2), ("warning", 2), ("30", 2), ("0", 4)])
def test_good_levels_still_filter(client, logged_run, level, count):
    run, _, _ = logged_run

    response = client.get(f"/api/flow-runs/{run.id}/logs/", {"level": level})

    assert response.status_code == 200
    assert len(response.json()["results"]) == count


def test_parameters_named_like_dict_methods_start_and_read_back(client, any_flow):
    parameters = {"items": [1, 2], "keys": "k", "values": {"items": 3}}

    started = client.post(
        "/api/flow-runs/", {"flow": any_flow, "parameters": parameters}, format="json"
    )

    assert started.status_code == 201, started.content
    # The run records its effective parameters: the one left out at its default too.
    assert client.get(started.json()["url"]).json()["parameters"] == {**parameters, "value": None}


def test_json_350_levels_deep_is_a_400_naming_the_parameter(client, any_flow):
    response = client.post(
        "/api/flow-runs/", data=start_body(nested(350)), content_type="application/json"
    )

    assert response.status_code == 400
    message = response.json()["parameters"]["value"][0]
    assert f"more than {MAX_JSON_DEPTH} levels" in message


def test_json_too_deep_for_the_parser_is_a_400(client, any_flow):
    response = client.post(
        "/api/flow-runs/", data=start_body(nested(100_000)), content_type="application/json"
    )

    assert response.status_code == 400
    assert f"more than {MAX_JSON_DEPTH} levels" in response.json()["detail"]


def test_json_at_the_depth_limit_is_taken(client, any_flow):
    # The body is level 1, "parameters" level 2: the value may nest MAX_JSON_DEPTH - 2 more.
    deepest = start_body(nested(MAX_JSON_DEPTH - 2))

    response = client.post("/api/flow-runs/", data=deepest, content_type="application/json")
    over = client.post(
        "/api/flow-runs/",
        data=start_body(nested(MAX_JSON_DEPTH - 1)),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content[:300]
    assert over.status_code == 400


def test_a_deep_body_to_the_limits_api_is_a_400_too(client):
    response = client.post(
        "/api/concurrency-limits/",
        data=f'{{"tag": {nested(200)}}}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "tag" in response.json()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_size_limit_is_a_json_413(client, any_flow):
    body = start_body('"%s"' % ("x" * 2000))

    response = client.post("/api/flow-runs/", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "1000 bytes" in response.json()["detail"]


@pytest.fixture
def error_stream():
    """What the ``django.request`` logger writes to stderr, caught."""
    caught = io.StringIO()
    handlers = [
        h for h in logging.getLogger("django.request").handlers if type(h) is logging.StreamHandler
    ]
    assert handlers, "django.request has no stderr handler"
    old = [h.setStream(caught) for h in handlers]
    yield caught
    for handler, stream in zip(handlers, old, strict=True):
        handler.setStream(stream)


def test_a_server_error_is_json_and_logged_with_its_traceback(client, error_stream, runs_home):
    with mock.patch("runs.selectors.flow_runs", side_effect=RuntimeError("boom-for-the-log-test")):
        response = client.get("/api/flow-runs/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "logged" in response.json()["detail"]
    logged = error_stream.getvalue()
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: boom-for-the-log-test" in logged
    path = log_file(runs_home)
    for handler in logging.getLogger("django.request").handlers:
        handler.flush()
    assert "RuntimeError: boom-for-the-log-test" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_server_error_on_a_page_is_logged_too(error_stream):
    from django.test import Client

    from tests.runs.api.seed import user

    browser = Client(raise_request_exception=False)
    browser.force_login(user())
    with mock.patch(
        "runs.views.flow_runs.selectors.flow_runs", side_effect=RuntimeError("page-boom")
    ):
        response = browser.get("/flow-runs/")

    assert response.status_code == 500
    assert "RuntimeError: page-boom" in error_stream.getvalue()


def test_errors_django_makes_under_the_api_are_json(client):
    response = client.get("/api/flow-runs/not-a-uuid/")
    anonymous = api_client()
    anonymous.force_authenticate(None)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert anonymous.get("/api/flow-runs/")["Content-Type"] == "application/json"
