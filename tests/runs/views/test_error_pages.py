"""Styled 404 and 500 pages with the nav, saying what to do next (issue 15, item 10)."""

from __future__ import annotations

import uuid
from unittest import mock

from django.test import Client


def test_an_unknown_flow_run_id_gets_the_styled_page_naming_it(client):
    missing = uuid.uuid4()

    response = client.get(f"/flow-runs/{missing}/")

    page = response.content.decode()
    assert response.status_code == 404
    assert f"No flow run has id {missing}." in page
    assert 'aria-label="Main"' in page  # the nav, so the person can go on from here
    assert 'href="/flow-runs/"' in page


def test_an_unknown_task_run_and_limit_get_the_styled_page(client):
    for path in (f"/task-runs/{uuid.uuid4()}/", f"/limits/{uuid.uuid4()}/", "/no-such-page/"):
        response = client.get(path)

        assert response.status_code == 404, path
        page = response.content.decode()
        assert "<h1>Not found</h1>" in page, path
        assert "Resolver404" not in page, path


def test_an_unknown_page_for_an_anonymous_visitor_shows_no_nav():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert 'aria-label="Main"' not in response.content.decode()


def test_a_server_error_gets_the_styled_page_pointing_at_the_log(client):
    client.raise_request_exception = False
    with mock.patch("runs.views.overview.render_page", side_effect=RuntimeError("boom")):
        response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on the server" in page
    assert "logs/runs.log" in page
    assert "boom" not in page  # nothing of the error itself reaches the visitor
