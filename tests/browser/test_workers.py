"""The Workers page in Chromium (issue 15, item 8), at desktop and phone width."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from runs import flow
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@flow(name="browser-workers-page")
def makes_a_lease() -> int:
    return 1


@pytest.mark.parametrize("width,label", [(1280, "desktop"), (390, "phone")])
def test_the_workers_page_lists_this_process_alive(page, live_server, width, label):
    makes_a_lease()
    page.set_viewport_size({"width": width, "height": 900})

    page.goto(f"{live_server.url}/workers/")

    row = page.locator("tr", has_text=f"pid {os.getpid()}")
    expect(row).to_be_visible()
    expect(row.get_by_text("Alive")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"workers-{label}")
