"""At 390 px (issue 15, item 9): the nav folds behind a Menu button, the limits table keeps its
actions in view, and no page scrolls sideways."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    return page


def test_the_nav_folds_behind_a_menu_button(phone, live_server):
    phone.goto(f"{live_server.url}/flow-runs/")
    nav = phone.get_by_role("navigation", name="Main")
    menu = phone.get_by_role("button", name="Menu")

    expect(nav).to_be_hidden()
    header_height = phone.locator(".topbar").bounding_box()["height"]
    assert header_height < 70  # one row, not three
    screenshot(phone, "phone-nav-closed")

    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    screenshot(phone, "phone-nav-open")
    nav.get_by_role("link", name="Workers").click()
    phone.wait_for_url("**/workers/")


def test_the_nav_stays_open_on_a_wide_screen(page, live_server):
    page.goto(f"{live_server.url}/")

    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()


def test_limit_actions_are_in_view_at_phone_width(phone, live_server):
    from runs_limits.services import create_limit

    tag = f"phone-{uuid.uuid4().hex[:6]}"
    create_limit(tag=tag, concurrency_limit=2)
    phone.goto(f"{live_server.url}/limits/")

    delete = phone.locator(f'tr[data-tag="{tag}"]').get_by_role("link", name="Delete")
    expect(delete).to_be_visible()
    box = delete.bounding_box()
    assert box["x"] + box["width"] <= 390
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(phone, "phone-limits")
