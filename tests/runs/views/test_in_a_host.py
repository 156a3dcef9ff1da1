"""runs inside a host project: its names and templates clash with none of the host's, its own
pages keep runs' 403 and 404 pages, and the host's own errors keep the host's (issue 17).

This module is the host's URLconf: a page named ``flows`` of its own, runs under ``runs/``,
and its own 403 and 404 handlers.
"""

from __future__ import annotations

import uuid

import pytest
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.test import Client, override_settings
from django.urls import NoReverseMatch, include, path, reverse

from tests.runs.views.conftest import make_user


def host_forbidden(request, exception=None):
    return HttpResponseForbidden("the host's own 403")


def host_not_found(request, exception=None):
    return HttpResponseNotFound("the host's own 404")


def host_refusal(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied("no")


urlpatterns = [
    path("flows/", lambda request: HttpResponse("the host's flows"), name="flows"),
    path("refused/", host_refusal),
    path("runs/", include("runs.urls")),
]
handler403 = host_forbidden
handler404 = host_not_found

in_host = override_settings(ROOT_URLCONF=__name__, LOGIN_URL="runs:login")


def _client(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


@in_host
def test_runs_names_live_in_the_runs_namespace_beside_the_hosts():
    # Names without the namespace held in variables: /work/briefs/rename17.py leaves them be.
    hosts_flows, runs_unqualified = "flows", "flow-runs"

    assert reverse(hosts_flows) == "/flows/"
    assert reverse("runs:flows") == "/runs/flows/"
    assert reverse("runs:api-flow-run-list") == "/runs/api/flow-runs/"
    assert reverse("runs:concurrency-limit-list") == "/runs/api/concurrency-limits/"
    with pytest.raises(NoReverseMatch):
        reverse(runs_unqualified)


@in_host
def test_runs_pages_link_to_runs_pages_not_the_hosts():
    page = _client("viewer").get("/runs/").content.decode()

    assert 'href="/runs/flows/"' in page
    assert 'href="/flows/"' not in page


@in_host
def test_an_unknown_run_on_runs_pages_gets_runs_404_page():
    missing = uuid.uuid4()

    response = _client("viewer").get(f"/runs/flow-runs/{missing}/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in page
    assert f"No flow run has id {missing}." in page
    assert 'href="/runs/flow-runs/"' in page


@in_host
def test_a_refused_action_on_runs_pages_gets_runs_403_page():
    response = _client("viewer").post("/runs/cache/expire/", {"key": "x"})

    page = response.content.decode()
    assert response.status_code == 403
    assert "Your role does not allow this" in page
    assert "the host's own 403" not in page


@in_host
def test_the_hosts_own_errors_keep_the_hosts_pages():
    client = _client("viewer")

    not_found = client.get("/no-such-host-page/")
    refused = client.get("/refused/")

    assert (not_found.status_code, not_found.content) == (404, b"the host's own 404")
    assert (refused.status_code, refused.content) == (403, b"the host's own 403")


def test_runs_templates_are_under_runs_and_leave_the_top_level_names_free():
    assert get_template("runs/base.html").origin.name.endswith("runs/base.html")
    assert get_template("runs/login.html").origin.name.endswith("runs/login.html")
    # The old names built, not written whole: /work/briefs/rename17.py would rename them.
    old_names = [f"{name}.html" for name in ("base", "403", "404", "500", "registration/login")]
    for name in old_names:
        with pytest.raises(TemplateDoesNotExist):
            get_template(name)
