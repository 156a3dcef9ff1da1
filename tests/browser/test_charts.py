"""Pictures (issue 15, item 6): the overview's runs-over-time chart with its window switch, and a
flow's own page with its figures, chart, latest runs and Run form, at 1280 and 390 px."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from runs import conf, flow, task
from tests.browser.conftest import PASSWORD, screenshot, sign_in

pytestmark = pytest.mark.browser


@task
def chart_browser_step(x: int) -> int:
    if x < 0:
        raise ValueError("negative on purpose")
    return x


@flow(name="browser-charts")
def browser_charts(x: int = 1) -> int:
    """Runs for the chart pictures: negative numbers fail."""
    return chart_browser_step(x)


def _flush() -> None:
    from runs.orchestration.writer import writer

    writer.flush()


def _click_until(page, link, url: str, tries: int = 3) -> None:
    """Click ``link`` until the page's URL is ``url``: a click that lands while this module's
    quick refresh swaps the same part of the page is dropped by htmx with the old element."""
    for _ in range(tries):
        link.click()
        try:
            expect(page).to_have_url(url, timeout=2000)
            return
        except AssertionError:
            continue
    expect(page).to_have_url(url)


@pytest.fixture(autouse=True)
def quick_polls():
    with conf.override(RUNS_DASHBOARD_IDLE_POLL_SECONDS=0.3, RUNS_DASHBOARD_POLL_SECONDS=0.2):
        yield


@pytest.fixture(scope="module")
def chart_user():
    """An Admin of this module's own (the shared browser user's role is another test's)."""
    from django.contrib.auth import get_user_model

    from runs.roles import set_role

    username = f"charts-{uuid.uuid4().hex[:8]}"
    made = get_user_model().objects.create_user(username=username, password=PASSWORD)
    set_role(made, "admin")
    return username


@pytest.fixture(scope="module")
def ran():
    """browser-charts registered and run five times, one of them failing."""
    from runs.registry import register_flow

    register_flow("tests.browser.test_charts:browser_charts")
    for x in (1, 2, 3, 4, -1):
        browser_charts(x, return_state=True)
    _flush()


@pytest.fixture
def page(browser, live_server, chart_user, ran):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, live_server, chart_user)
    yield page
    context.close()


def _no_horizontal_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_overview_chart_switches_window_without_a_reload(page, live_server):
    page.goto(f"{live_server.url}/")
    chart = page.locator("#runs-chart")
    svg = chart.locator("svg.runs-chart__svg")
    expect(svg).to_be_visible()
    expect(svg).to_have_attribute("role", "img")
    expect(chart.get_by_role("link", name="Last day")).to_have_attribute("aria-current", "true")
    expect(chart.locator('rect[data-state="FAILED"]').first).to_be_attached()
    screenshot(page, "chart-overview-1280")

    page.evaluate("window.notReloaded = true")
    _click_until(page, chart.get_by_role("link", name="Last week"), f"{live_server.url}/?chart=7d")
    expect(page.locator("#runs-chart").get_by_role("link", name="Last week")).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("#runs-chart svg > title")).to_contain_text("last week")
    assert page.evaluate("window.notReloaded") is True

    page.wait_for_timeout(700)  # a few refreshes of the overview: the window stays
    expect(page.locator("#runs-chart svg > title")).to_contain_text("last week")

    page.locator("#runs-chart summary", has_text="Show as a table").click()
    table = page.locator("#runs-chart details table")
    expect(table).to_be_visible()
    expect(table.locator("thead")).to_contain_text("Failed")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/?chart=24h")
    expect(page.locator("#runs-chart svg")).to_be_visible()
    _no_horizontal_scroll(page, 390)
    page.locator("#runs-chart").scroll_into_view_if_needed()
    screenshot(page, "chart-overview-390")


def test_a_flows_page_shows_its_figures_and_a_new_run_without_a_reload(page, live_server):
    page.goto(f"{live_server.url}/flows/")
    page.get_by_role("link", name="browser-charts", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/flows/browser-charts/")
    expect(page.get_by_role("heading", name="browser-charts", level=1)).to_be_visible()
    figures = page.locator(".flow-figures")
    expect(figures).to_contain_text("Success rate")
    expect(figures).to_contain_text("Duration p95")
    expect(page.locator("#runs-chart svg")).to_be_visible()
    expect(page.get_by_role("button", name="Run browser-charts")).to_be_visible()
    screenshot(page, "flow-page-1280")

    page.evaluate("window.notReloaded = true")
    state = browser_charts(9, return_state=True)
    _flush()
    from runs.selectors.runs import get_flow_run

    run = get_flow_run(state.flow_run_id)
    expect(page.get_by_role("link", name=run.name, exact=True)).to_be_visible(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#runs-chart svg")).to_be_visible()
    _no_horizontal_scroll(page, 390)
    screenshot(page, "flow-page-390")


def test_the_run_form_on_a_flows_page_starts_a_run(page, live_server):
    page.goto(f"{live_server.url}/flows/browser-charts/")
    page.get_by_label("x").fill("5")
    page.get_by_role("button", name="Run browser-charts").click()
    page.wait_for_url(f"{live_server.url}/flow-runs/**")
    expect(page.get_by_role("link", name="browser-charts", exact=True).first).to_be_visible()


def test_an_open_chart_table_stays_open_while_the_page_refreshes(page, live_server):
    page.goto(f"{live_server.url}/")
    page.locator("#runs-chart summary", has_text="Show as a table").click()
    table = page.locator("#runs-chart details table")
    expect(table).to_be_visible()
    page.wait_for_timeout(1000)  # several refreshes at this module's quick poll
    expect(table).to_be_visible()
