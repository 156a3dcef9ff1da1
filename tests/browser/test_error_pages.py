"""Errors that help, in Chromium (issue 15, item 10): a filter error once beside its field,
gone once fixed; the styled 404 page with the nav."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,label", [(1280, "desktop"), (390, "phone")])
def test_a_bad_date_filter_shows_once_beside_its_field_and_clears(page, width, label):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(page.url.rstrip("/") + "/flow-runs/")

    since = page.get_by_label("From")
    since.fill("not-a-date")
    since.dispatch_event("change")
    error = page.locator("#f-since-error")
    error.filter(has_text="is not a time").wait_for()

    message = error.inner_text()
    assert message
    assert page.get_by_text(message, exact=True).count() == 1
    assert page.locator("#results").get_by_text("Fix the filter marked above").is_visible()
    screenshot(page, f"filter-error-{label}")

    since.fill("2026-11-24")
    since.dispatch_event("change")
    page.locator("#results").get_by_text("Fix the filter marked above").wait_for(state="detached")
    assert error.inner_text() == ""
    assert not error.is_visible()


def test_an_unknown_run_shows_the_styled_404_with_the_nav(page):
    missing = uuid.uuid4()
    response = page.goto(page.url.rstrip("/") + f"/flow-runs/{missing}/")

    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert page.get_by_text(f"No flow run has id {missing}.").is_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Task runs").click()
    page.wait_for_url("**/task-runs/")
    screenshot(page, "not-found-desktop")
