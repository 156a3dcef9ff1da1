"""The OpenAPI schema, and schemathesis fuzzing every operation of it against the WSGI app.

For any generated input, with a fixed seed: no 500, every response matches the schema (status
code documented, body shape, content type, authentication enforced), and the schema matches the
validation: a request valid by the schema is not refused with a 400, one invalid by it is not
accepted. Two rules JSON Schema cannot state are left to the server: which cursors it issued,
and, for POST /api/flow-runs/, which flows are registered and what parameters each takes.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import seed as fixed_seed
from rest_framework.test import APIClient
from schemathesis import checks

from runs.services.tokens import create_token
from tests.runs.api import seed


@pytest.fixture(scope="module")
def token() -> str:
    key = create_token(username=seed.user().username).key
    return key


@pytest.fixture(scope="module")
def api_schema():
    from django.core.handlers.wsgi import WSGIHandler

    # WSGIHandler, not get_wsgi_application(): a second django.setup() would reset logging.
    return schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@fixed_seed(14)
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        excluded_checks=[checks.positive_data_acceptance],
        additional_checks=[positive_data_acceptance],
    )


def positive_data_acceptance(ctx, response, case):
    """Schemathesis's check, but for two rules JSON Schema cannot state (see below)."""
    if case.query and case.query.get("cursor"):
        # A cursor is valid when this server issued it: the schema gives its alphabet only.
        return None
    if case.operation.label == "POST /api/flow-runs/" and _refused_by_a_flows_own_rules(response):
        return None
    if _refused_for_an_empty_time_range(response):
        return None
    if _refused_for_what_the_schema_cannot_say(case, response):
        return None
    return checks.positive_data_acceptance(ctx, response, case)


#: Fields whose valid values the schema cannot state: which flows, deployments and queues
#: exist, each flow's own parameters, and which cron, RRule, time zone and anchor text is valid.
_REFERENCES = {
    "POST /api/flow-runs/": {"flow", "parameters", "deployment", "work_queue"},
    "POST /api/deployments/": {"flow", "parameters", "work_queue"},
    "PATCH /api/deployments/{deployment_id}/": {"parameters", "work_queue"},
    "POST /api/deployments/{deployment_id}/run/": {"parameters"},
    "POST /api/deployments/{deployment_id}/schedules/": {"value", "timezone", "anchor"},
    "PATCH /api/deployments/{deployment_id}/schedules/{schedule_id}/": {
        "value",
        "timezone",
        "anchor",
    },
}
_SCHEDULE_FIELD = re.compile(r"^schedules\[\d+\]\.(value|timezone|anchor)$")


def _refused_for_what_the_schema_cannot_say(case, response) -> bool:
    """A 400 naming only fields of :data:`_REFERENCES` for the operation."""
    if response.status_code != 400 or case.operation.label not in _REFERENCES:
        return False
    fields = _REFERENCES[case.operation.label]
    return all(key in fields or _SCHEDULE_FIELD.match(key) for key in response.json())


def _refused_by_a_flows_own_rules(response) -> bool:
    """A 400 for what the schema of POST /api/flow-runs/ cannot carry: which flows are
    registered, each one's parameters (a Python signature), and, in ``parameters``, no NUL
    character in names (OpenAPI 3.0 has no ``propertyNames``) nor nesting deeper than 64."""
    if response.status_code != 400:
        return False
    body = response.json()
    return set(body) <= {"flow", "parameters"} and all(
        "runs deploy" in message for message in body.get("flow", [])
    )


def _refused_for_an_empty_time_range(response) -> bool:
    """A 400 naming only ``until`` when it is not after ``since``: a rule between two
    parameters, which JSON Schema cannot state for a query string."""
    if response.status_code != 400:
        return False
    body = response.json()
    return set(body) == {"until"} and all("is not after since" in m for m in body["until"])


def test_schema_lists_every_endpoint():
    body = APIClient().get("/api/schema/?format=json").json()

    assert body["openapi"].startswith("3.")
    for path in [
        "/api/flows/",
        "/api/flows/{name}/",
        "/api/flow-runs/",
        "/api/flow-runs/{flow_run_id}/",
        "/api/flow-runs/{flow_run_id}/cancel/",
        "/api/flow-runs/{flow_run_id}/rerun/",
        "/api/flow-runs/{flow_run_id}/states/",
        "/api/flow-runs/{flow_run_id}/logs/",
        "/api/task-runs/",
        "/api/task-runs/{task_run_id}/",
        "/api/task-runs/{task_run_id}/states/",
        "/api/task-runs/{task_run_id}/logs/",
        "/api/logs/",
        "/api/concurrency-limits/",
    ]:
        assert path in body["paths"], path


def test_docs_are_served_from_local_static_files():
    page = APIClient().get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    # Every file the page loads is ours; a word search for "cdn" would also hit the page's
    # random CSRF token (it did once in CI).
    loaded = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', page)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded), (
        loaded
    )
    assert "://" not in page
