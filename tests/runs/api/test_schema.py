"""The OpenAPI schema, and schemathesis fuzzing every operation of it against the WSGI app.

For any generated input: no 500, and every response matches the schema (status code
documented, body shape, content type, authentication enforced). Two checks are left out
because they judge validation the schema cannot express: ``positive_data_acceptance`` (an
opaque cursor or an unregistered flow name is a string the schema allows, and still a 400) and
``negative_data_rejection`` (an empty filter such as ``?until=`` means "no filter").
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis import checks

from runs.services.tokens import create_token
from tests.runs.api import seed


@pytest.fixture(scope="module")
def token() -> str:
    key, _ = create_token(username=seed.user().username)
    return key


@pytest.fixture(scope="module")
def api_schema():
    from django.core.handlers.wsgi import WSGIHandler

    # WSGIHandler, not get_wsgi_application(): a second django.setup() would reset logging.
    return schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )


def test_schema_lists_every_endpoint():
    body = APIClient().get("/api/schema/?format=json").json()

    assert body["openapi"].startswith("3.")
    for path in [
        "/api/flows/",
        "/api/flows/{name}/",
        "/api/flow-runs/",
        "/api/flow-runs/{flow_run_id}/",
        "/api/flow-runs/{flow_run_id}/cancel/",
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
