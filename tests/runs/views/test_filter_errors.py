"""A bad filter's error shows once, beside its field, and goes away once fixed (issue 15,
item 10)."""

from __future__ import annotations

import re


def _error_paragraphs(page: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="field-error" id="f-([a-z_]+)-error"[^>]*>([^<]*)</p>', page))


def test_a_bad_date_is_shown_once_beside_its_field(client):
    response = client.get("/flow-runs/?since=yesterday-ish")

    page = response.content.decode()
    assert response.status_code == 400
    errors = _error_paragraphs(page)
    assert "since" in errors and errors["since"]
    assert page.count(errors["since"]) == 1
    assert "Fix the filter marked above" in page
    assert all(not message for name, message in errors.items() if name != "since")


def test_htmx_answers_carry_each_fields_error_out_of_band_and_clear_it_once_fixed(client):
    htmx = {"HTTP_HX_REQUEST": "true"}

    bad = client.get("/task-runs/?until=13/13/2026", **htmx).content.decode()
    fixed = client.get("/task-runs/?until=2026-11-25", **htmx).content.decode()

    assert 'id="results"' in bad
    bad_errors = _error_paragraphs(bad)
    assert bad_errors["until"] and bad.count(bad_errors["until"]) == 1
    assert bad.count('hx-swap-oob="true"') == len(bad_errors) >= 7  # task_name and the rest
    assert _error_paragraphs(fixed)["until"] == ""


def test_an_unknown_state_is_shown_beside_the_state_field(client):
    page = client.get("/flow-runs/?state=Sleepy").content.decode()

    assert "Unknown state Sleepy" in _error_paragraphs(page)["state"]
    assert page.count("Unknown state Sleepy") == 1
