"""The timeline of large runs in Chromium (issue 15, items 7 and 9): a folded map's counts read
inline and its failures sit where they happened; expanded, the axis stays in view while rows
scroll and rows come a page at a time; at 390 px labels stay readable and nothing overflows."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import PASSWORD, SCREENSHOTS, sign_in

pytestmark = pytest.mark.browser

WIDTHS = [(1280, "desktop"), (390, "phone")]


@pytest.fixture(scope="module")
def viewer():
    """A user of its own with the Viewer role (the timeline needs no more)."""
    from django.contrib.auth import get_user_model

    from runs.roles import set_role

    user = get_user_model().objects.create_user(
        username=f"timeline-{uuid.uuid4().hex[:8]}", password=PASSWORD
    )
    set_role(user, "viewer")
    return user.username


@pytest.fixture(scope="module")
def mapped_run():
    from runs.models import FlowRun
    from runs.orchestration.writer import writer
    from tests.runs.views.timeline_flows import map_with_failures

    state = map_with_failures(count=200, return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    return run, run.task_runs.filter(map_index__gte=0).first().task_key


@pytest.fixture
def tl_page(browser, live_server, viewer):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, live_server, viewer)
    yield page
    context.close()


def _viewport_shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _assert_readable(page, width: int) -> None:
    """Labels at least 12 px, visible tick labels apart, no sideways scrolling."""
    sizes = page.eval_on_selector_all(
        ".tl__label, .tl__counts, .tl__tick",
        "els => els.filter(e => e.offsetParent).map(e => parseFloat(getComputedStyle(e).fontSize))",
    )
    assert sizes and min(sizes) >= 12, sizes
    boxes = page.eval_on_selector_all(
        ".tl__tick",
        "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect())"
        ".map(r => [r.left, r.right])",
    )
    boxes.sort()
    assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
    assert boxes[-1][1] <= width and boxes[0][0] >= 0, boxes
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at {width}px"
    bars = page.locator("#timeline svg.timeline").bounding_box()
    assert bars["width"] > width * 0.4 and bars["x"] + bars["width"] <= width


@pytest.mark.parametrize("width,label", WIDTHS)
def test_a_folded_map_reads_its_counts_inline(tl_page, live_server, mapped_run, width, label):
    run, _ = mapped_run
    tl_page.set_viewport_size({"width": width, "height": 800})
    tl_page.goto(f"{live_server.url}/flow-runs/{run.id}/#timeline")
    counts = tl_page.locator(".tl__row--group .tl__counts")
    assert counts.inner_text().replace("\xa0", " ") == "180 ok, 20 failed"
    assert counts.is_visible()
    _assert_readable(tl_page, width)
    tl_page.locator("#timeline").screenshot(path=str(SCREENSHOTS / f"{label}-timeline-folded.png"))


def test_a_folded_maps_failures_sit_where_they_happened(tl_page, live_server, mapped_run):
    """The red slices are drawn over the time of the failed runs, not across the whole row."""
    from runs.badges import state_color

    run, _ = mapped_run
    tl_page.goto(f"{live_server.url}/flow-runs/{run.id}/")
    red = state_color("Failed", "FAILED")
    spans = tl_page.eval_on_selector_all(
        f'#timeline svg.timeline rect[fill="{red}"]',
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })",
    )
    chart = tl_page.locator("#timeline svg.timeline").bounding_box()
    assert spans
    covered = sum(right - left for left, right in spans)
    assert covered < chart["width"] / 3, (covered, chart["width"])
    failed = run.task_runs.filter(state_name="Failed")
    ok = run.task_runs.filter(state_name="Completed")
    span = (run.end_time - run.start_time).total_seconds()

    def px(moment) -> float:
        return chart["x"] + chart["width"] * (moment - run.start_time).total_seconds() / span

    first_fail = px(min(r.end_time for r in failed))
    last_fail = px(max(r.end_time for r in failed))
    slack = chart["width"] / 160 + 1
    assert all(first_fail - slack <= left and right <= last_fail + slack for left, right in spans)
    assert px(min(r.end_time for r in ok)) < first_fail  # some runs finished before the failures


@pytest.mark.parametrize("width,label", WIDTHS)
def test_expanded_rows_page_and_the_axis_stays_in_view(
    tl_page, live_server, mapped_run, width, label
):
    run, key = mapped_run
    tl_page.set_viewport_size({"width": width, "height": 800})
    tl_page.goto(f"{live_server.url}/flow-runs/{run.id}/")
    tl_page.locator(".tl__row--group .tl__label").click()
    tl_page.wait_for_url(f"**expand={key}**")
    assert tl_page.locator(".tl__row").count() == 100
    _assert_readable(tl_page, width)

    tl_page.locator(".tl__row").nth(70).scroll_into_view_if_needed()
    axis = tl_page.locator(".tl__axis").bounding_box()
    first_row = tl_page.locator(".tl__row").first.bounding_box()
    assert first_row["y"] < 0, "the rows did not scroll"
    assert -1 <= axis["y"] <= 1, f"the axis scrolled away (top at {axis['y']})"
    _viewport_shot(tl_page, f"{label}-timeline-expanded-scrolled")

    tl_page.get_by_role("link", name="Later rows →").click()
    tl_page.wait_for_url("**rows=2**")
    assert tl_page.locator(".tl__row").count() == 100
    assert "Rows 101–200 of 200" in tl_page.locator(".tl-pager").inner_text()
    tl_page.get_by_role("link", name="fold").click()
    tl_page.wait_for_url(lambda url: "expand" not in url)
    assert tl_page.locator(".tl__row--group").count() == 1
