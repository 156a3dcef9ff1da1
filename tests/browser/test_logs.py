"""Logs that keep up (issue 15, item 2), in Chromium: a running run's page opens at its newest
line and follows new ones without a reload, leaves a reader who scrolled up where they are;
pages, the text filter and the download work; the box fits a phone."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from runs import conf, flow, get_run_logger, task
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

EARLY_LINES = 260
steps = [threading.Event() for _ in range(3)]


@task
def helper_task() -> None:
    get_run_logger().info("a line from the task")


@flow(name="browser-logs-follow")
def tail_me(early: int = EARLY_LINES) -> None:
    """``early`` lines and a task's, then more lines at each of ``steps``."""
    log = get_run_logger()
    for index in range(early):
        log.info("early line %03d", index)
    helper_task()
    steps[0].wait(30)
    log.warning("first new line")
    log.info("second new line")
    steps[1].wait(30)
    log.info("a line while the reader is up")
    steps[2].wait(30)


@pytest.fixture(autouse=True)
def quick_polls():
    with conf.override(RUNS_DASHBOARD_IDLE_POLL_SECONDS=0.3, RUNS_DASHBOARD_POLL_SECONDS=0.2):
        yield


@pytest.fixture
def running():
    """A running flow run of :func:`tail_me` waiting at its first step."""
    from runs.models import FlowRun
    from runs.orchestration.writer import writer
    from runs.states import now

    for step in steps:
        step.clear()
    started = now()
    thread = threading.Thread(target=tail_me, daemon=True)
    thread.start()
    expect_run = None
    for _ in range(500):
        writer.flush()
        expect_run = (
            FlowRun.objects.filter(
                flow__name="browser-logs-follow",
                created__gte=started,
                logs__message="a line from the task",
            )
            .order_by("-created")
            .first()
        )
        if expect_run is not None:
            break
        threading.Event().wait(0.02)
    assert expect_run is not None, "the flow did not log its early lines"
    yield expect_run
    for step in steps:
        step.set()
    thread.join(10)


def box_position(page) -> dict:
    return page.locator("#log-lines .log-scroll").evaluate(
        "el => ({top: el.scrollTop, bottom: el.scrollHeight - el.scrollTop - el.clientHeight})"
    )


def release(step: int) -> None:
    from runs.orchestration.writer import writer

    steps[step].set()
    threading.Event().wait(0.1)
    writer.flush()


def test_a_running_run_follows_new_lines_and_keeps_a_readers_place(page, live_server, running):
    page.goto(f"{live_server.url}/flow-runs/{running.id}/")
    page.evaluate("window.notReloaded = true")
    logs = page.locator("#logs")
    expect(logs.get_by_text("early line 259")).to_be_visible()
    assert box_position(page)["bottom"] <= 2  # opens at the newest line
    expect(logs.get_by_text("early line 000")).to_have_count(0)  # older lines are a page back
    screenshot(page, "logs-following-1280")

    release(0)
    expect(logs.get_by_text("second new line")).to_be_visible(timeout=10_000)
    assert box_position(page)["bottom"] <= 24  # at the bottom: it follows
    assert page.locator("#log-rows tr", has_text="first new line").count() == 1

    page.locator("#log-lines .log-scroll").evaluate("el => { el.scrollTop = 40; }")
    release(1)
    expect(logs.get_by_text("a line while the reader is up")).to_have_count(1, timeout=10_000)
    page.wait_for_timeout(300)
    assert box_position(page)["top"] == 40  # scrolled up: new lines do not move the reader
    assert page.evaluate("window.notReloaded") is True


def test_pages_and_the_text_filter_without_a_reload(page, live_server, running):
    page.goto(f"{live_server.url}/flow-runs/{running.id}/")
    page.evaluate("window.notReloaded = true")
    logs = page.locator("#logs")

    logs.get_by_role("link", name="‹ Older").click()
    expect(logs.get_by_text("early line 000")).to_be_visible()
    expect(page).to_have_url(re.compile(r"log_page="))
    assert box_position(page)["top"] == 0
    logs.get_by_role("link", name="Newest »").click()
    expect(logs.get_by_text("early line 259")).to_be_visible()

    search = logs.get_by_label("Text")
    search.fill("")
    search.type("line 12", delay=30)
    expect(logs.get_by_text("early line 128")).to_be_visible()
    expect(logs.get_by_text("early line 259")).to_have_count(0)
    assert page.evaluate("document.activeElement.id") == "log-search"  # typing goes on
    logs.get_by_label("Level").select_option("WARNING")
    expect(
        logs.get_by_text("No log lines at WARNING or above containing “line 12”")
    ).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_download_logs_gives_every_line_as_text(page, live_server, running):
    page.goto(f"{live_server.url}/flow-runs/{running.id}/")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download logs").click()

    download = info.value
    assert download.suggested_filename == f"{running.name}-logs.txt"
    text = open(download.path(), encoding="utf-8").read()
    assert text.count("early line") == EARLY_LINES
    assert " | a line from the task" in text and "helper_task-0 | " in text


def test_the_logs_fit_a_phone(page, live_server, running):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/flow-runs/{running.id}/")
    logs = page.locator("#logs")
    expect(logs.get_by_text("early line 259")).to_be_visible()
    logs.scroll_into_view_if_needed()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    expect(logs.get_by_role("link", name="Download logs")).to_be_visible()
    screenshot(page, "logs-following-390")
