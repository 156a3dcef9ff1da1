"""Logs that keep up (issue 15, item 2): the newest lines of a run, followed while it runs;
pages over every line; level and text filters; the download, streamed."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest

from runs import flow, get_run_logger, task
from runs.models import FlowRun
from runs.orchestration.writer import writer

FLOW_LINES = 450


@task
def shout(count: int) -> int:
    for index in range(count):
        get_run_logger().info("task line %05d", index)
    get_run_logger().error("the task's error line")
    return count


@flow(name="views-logs-chatty")
def chatty(count: int = FLOW_LINES, task_lines: int = 3) -> int:
    """``count`` numbered lines, every 50th with a needle in it, then a task's lines."""
    log = get_run_logger()
    for index in range(count):
        log.info("flow line %05d%s", index, " has a Needle" if index % 50 == 0 else "")
    log.warning("a warning line with a needle")
    return shout(task_lines)


@pytest.fixture(scope="module")
def chatty_run():
    """A finished run of :func:`chatty` (450 flow lines, a warning, a task's 4 lines)."""
    state = chatty(return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    return run, run.task_runs.get()


def page(client, path: str, **query) -> str:
    """The logs section of a run page at ``path`` (as paging and filtering fetch it)."""
    response = client.get(path, query, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="logs")
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="logs">')
    return html


def flow_lines(html: str) -> list[int]:
    """The numbers of the ``flow line NNNNN`` lines on a page, in the order shown."""
    return [int(n) for n in re.findall(r"flow line (\d{5})", html)]


def link(html: str, label: str) -> str | None:
    """The href of the pager link labelled ``label`` (Older, Newer, Oldest, Newest)."""
    found = re.search(rf'href="([^"]+)#logs"[^>]*>[^<]*{label}', html)
    return found.group(1).replace("&amp;", "&") if found else None


# --- the newest lines and the pages before them ---------------------------------------------


def test_a_run_page_opens_at_its_newest_lines(client, chatty_run):
    run, _ = chatty_run

    html = page(client, f"/flow-runs/{run.id}/")

    shown = flow_lines(html)
    assert shown == list(range(FLOW_LINES - len(shown), FLOW_LINES))  # the tail, oldest first
    assert "the task&#x27;s error line" in html or "the task's error line" in html
    assert link(html, "Older") and link(html, "Oldest") and not link(html, "Newer")
    assert 'data-scroll="bottom"' in html  # the box opens at its last line


def test_older_and_newer_pages_cover_every_line_once(client, chatty_run):
    run, _ = chatty_run
    path = f"/flow-runs/{run.id}/"

    seen: list[int] = []
    html = page(client, path)
    seen = flow_lines(html)
    while (older := link(html, "Older")) is not None:
        html = page(client, older)
        seen = flow_lines(html) + seen
    assert seen == list(range(FLOW_LINES))
    assert not link(html, "Oldest")  # at the start already
    newer = link(html, "Newer")
    assert newer
    html = page(client, newer)
    assert flow_lines(html)[0] > 0 and link(html, "Newest")


def test_the_oldest_page_starts_at_the_first_line(client, chatty_run):
    run, _ = chatty_run
    html = page(client, f"/flow-runs/{run.id}/")

    oldest = page(client, link(html, "Oldest"))

    assert flow_lines(oldest)[:3] == [0, 1, 2]
    assert 'data-scroll="top"' in oldest
    assert not link(oldest, "Older") and link(oldest, "Newer") and link(oldest, "Newest")


def test_a_page_token_the_dashboard_did_not_give_is_a_message(client, chatty_run):
    run, _ = chatty_run

    html = page(client, f"/flow-runs/{run.id}/", log_page="d.forged")

    assert 'class="field-error"' in html and "not one the dashboard gave out" in html


@pytest.mark.parametrize("kind", ["flow-runs", "task-runs"])
def test_the_whole_page_has_the_logs_section_and_its_script(client, chatty_run, kind):
    run = chatty_run[0] if kind == "flow-runs" else chatty_run[1]

    html = client.get(f"/{kind}/{run.id}/").content.decode()

    assert '<section class="card" id="logs">' in html and "/static/runs/logs.js" in html
    assert ">Download logs</a>" in html


def test_paging_with_htmx_answers_the_logs_section_only(client, chatty_run):
    run, _ = chatty_run
    html = page(client, f"/flow-runs/{run.id}/")

    response = client.get(link(html, "Older"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="logs")

    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="logs">')
    assert "/static/runs/logs.js" not in fragment
    assert "HX-Request" in response["Vary"]


# --- filters -----------------------------------------------------------------------------------


def test_the_text_filter_keeps_lines_containing_it_in_any_case(client, chatty_run):
    run, _ = chatty_run

    html = page(client, f"/flow-runs/{run.id}/", search="NEEDLE")

    assert flow_lines(html) == list(range(0, FLOW_LINES, 50))
    assert "a warning line with a needle" in html
    assert "task line" not in html
    assert "Download matching lines" in html


def test_text_and_level_filters_combine(client, chatty_run):
    run, _ = chatty_run

    html = page(client, f"/flow-runs/{run.id}/", search="needle", level="WARNING")

    assert flow_lines(html) == [] and "a warning line with a needle" in html


def test_no_match_says_which_filters_found_nothing(client, chatty_run):
    run, _ = chatty_run

    html = page(client, f"/flow-runs/{run.id}/", search="no-such-words", level="ERROR")

    assert "No log lines at ERROR or above containing “no-such-words”" in html


def test_a_task_run_page_shows_its_own_lines_only(client, chatty_run):
    _, task_run = chatty_run

    html = page(client, f"/task-runs/{task_run.id}/")

    assert "task line 00002" in html and "flow line" not in html


def test_the_pages_and_the_api_read_the_same_lines(client, chatty_run):
    run, _ = chatty_run

    html = page(client, f"/flow-runs/{run.id}/", search="needle")
    api = client.get(f"/api/flow-runs/{run.id}/logs/", {"search": "needle", "page_size": 500})

    assert api.status_code == 200
    messages = [line["message"] for line in api.json()["results"]]
    assert len(messages) == len(flow_lines(html)) + 1
    assert all(message in html for message in messages)


# --- following a running run -------------------------------------------------------------------

gate = threading.Event()
finish = threading.Event()


@flow(name="views-logs-follow")
def follow_me() -> None:
    """One line, then two more when ``gate`` opens; ends when ``finish`` is set."""
    log = get_run_logger()
    log.info("before the gate")
    gate.wait(30)
    log.info("after the gate one")
    log.info("after the gate two")
    finish.wait(30)


def wait_for(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        writer.flush()
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def follow_url(html: str) -> str:
    found = re.search(r'<tr id="log-follow"[^>]*hx-get="([^"]+)"', html)
    assert found, "no follow row"
    return found.group(1).replace("&amp;", "&")


@pytest.fixture
def following_run():
    """A running flow run that has logged one line and waits at ``gate``."""
    gate.clear()
    finish.clear()
    started = threading.Thread(target=follow_me, daemon=True)
    started.start()
    run = wait_for(
        lambda: (
            FlowRun.objects.filter(
                flow__name="views-logs-follow",
                state_name="Running",
                logs__message="before the gate",
            )
            .order_by("-created")
            .first()
        )
    )
    yield run
    gate.set()
    finish.set()
    started.join(10)


def test_a_running_run_appends_only_the_new_lines(client, following_run):
    run = following_run
    html = page(client, f"/flow-runs/{run.id}/")
    assert "before the gate" in html
    url = follow_url(html)

    nothing_new = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert nothing_new.lstrip().startswith('<tr id="log-follow"')  # only the follow row again

    gate.set()
    wait_for(lambda: run.logs.filter(message="after the gate two").exists())
    rows = client.get(follow_url(nothing_new), HTTP_HX_REQUEST="true").content.decode()

    assert "before the gate" not in rows
    assert rows.index("after the gate one") < rows.index("after the gate two")
    assert rows.count('id="log-follow"') == 1  # still running: the next poll asks on
    again = client.get(follow_url(rows), HTTP_HX_REQUEST="true").content.decode()
    assert "after the gate" not in again


def test_following_stops_once_the_run_has_ended(client, following_run):
    run = following_run
    url = follow_url(page(client, f"/flow-runs/{run.id}/"))

    gate.set()
    finish.set()
    wait_for(lambda: FlowRun.objects.get(id=run.id).end_time)
    ended_long_ago = run.created - dt.timedelta(minutes=1)  # no grace left for late lines
    FlowRun.objects.filter(id=run.id).update(end_time=ended_long_ago)

    rows = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert "after the gate two" in rows and 'id="log-follow"' not in rows


def test_a_flood_of_lines_jumps_to_the_newest_page(client, following_run, monkeypatch):
    from runs.views import logs

    monkeypatch.setattr(logs, "NEW_LINES_PER_POLL", 1)
    run = following_run
    url = follow_url(page(client, f"/flow-runs/{run.id}/"))
    gate.set()
    wait_for(lambda: run.logs.filter(message="after the gate two").exists())

    response = client.get(url, HTTP_HX_REQUEST="true")

    assert response["HX-Retarget"] == "#log-lines" and response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="log-lines"')
    assert "before the gate" in html and "after the gate two" in html


# --- the download ----------------------------------------------------------------------------


def download(client, path: str, **query):
    response = client.get(path, query)
    assert response.status_code == 200
    assert response.streaming
    return response, b"".join(response.streaming_content).decode()


def test_a_flow_runs_download_has_every_line_with_time_level_and_run(client, chatty_run):
    run, task_run = chatty_run

    response, text = download(client, f"/flow-runs/{run.id}/logs.txt")

    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"] == f'attachment; filename="{run.name}-logs.txt"'
    lines = text.splitlines()
    assert len(lines) == FLOW_LINES + 1 + 3 + 1
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}\+00:00 INFO     {run.name} \| flow line 00000"
        " has a Needle",
        lines[0],
    )
    assert f"ERROR    {task_run.name} | the task's error line" in text


def test_the_download_takes_the_pages_filters(client, chatty_run):
    run, _ = chatty_run
    html = page(client, f"/flow-runs/{run.id}/", search="needle", level="WARNING")
    href = re.search(r'href="([^"]+logs\.txt[^"]*)"', html).group(1).replace("&amp;", "&")

    _, text = download(client, href)

    assert text.count("\n") == 1 and "a warning line with a needle" in text


def test_a_task_runs_download_has_its_lines_only(client, chatty_run):
    _, task_run = chatty_run

    _, text = download(client, f"/task-runs/{task_run.id}/logs.txt")

    assert text.count("\n") == 4 and "flow line" not in text


def test_a_bad_level_in_the_download_is_a_400_naming_it(client, chatty_run):
    run, _ = chatty_run

    response = client.get(f"/flow-runs/{run.id}/logs.txt", {"level": "²"})

    assert response.status_code == 400 and response.content.decode().startswith("level: ")


def test_the_download_needs_a_signed_in_user_and_a_known_run(client, anonymous, chatty_run):
    run, _ = chatty_run

    assert anonymous.get(f"/flow-runs/{run.id}/logs.txt").status_code == 302
    missing = "00000000-0000-0000-0000-000000000001"
    assert client.get(f"/flow-runs/{missing}/logs.txt").status_code == 404
    assert client.get(f"/task-runs/{missing}/logs.txt").status_code == 404


@flow(name="views-logs-long")
def long_log(count: int) -> None:
    log = get_run_logger()
    padding = "x" * 1200
    for index in range(count):
        log.info("long line %06d %s", index, padding)


def test_a_long_download_is_streamed_in_chunks_never_held_whole(client, monkeypatch):
    import tracemalloc

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from runs.views import log_download

    count = 6_000
    state = long_log(count, return_state=True)
    writer.flush()
    monkeypatch.setattr(log_download, "DOWNLOAD_CHUNK", 100)

    response = client.get(f"/flow-runs/{state.flow_run_id}/logs.txt")
    assert response.streaming
    total = 0
    lines = 0
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        for part in response.streaming_content:
            total += len(part)
            lines += part.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert lines == count and total > 7_000_000
    reads = [q for q in queries.captured_queries if "runs_log" in q["sql"]]
    assert len(reads) >= count // 100  # one keyset query a chunk
    assert peak < total / 5, (peak, total)  # never the whole text, nor every line, at once
