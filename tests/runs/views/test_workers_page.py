"""The Workers page (issue 15, item 8): the processes alive from their leases, their queues,
what each runs now, their last heartbeat; a worker that stopped beating is shown as lost."""

from __future__ import annotations

import os
import threading
import time

from runs import flow, task
from runs.selectors.workers import worker_processes
from tests.workers import start_worker

release = threading.Event()


@task
def waits_for_the_test() -> None:
    release.wait(10)


@flow(name="workers-page-busy")
def busy_flow() -> None:
    waits_for_the_test()


def _row(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start : page.index("</tr>", start)]


def _wait_for(predicate, timeout: float = 20.0):
    from runs.orchestration.writer import writer

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        writer.flush()  # the RUNNING state may still wait in this process's write-behind
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("not seen in time")


def test_a_script_running_a_task_is_listed_with_what_it_runs(client):
    release.clear()
    thread = threading.Thread(target=busy_flow, daemon=True)
    thread.start()
    try:
        mine = _wait_for(
            lambda: next(
                (
                    p
                    for p in worker_processes()
                    if p.pid == os.getpid()
                    and any(run.name.startswith("waits_for_the_test") for run in p.running)
                ),
                None,
            )
        )
        page = client.get("/workers/").content.decode()
    finally:
        release.set()
        thread.join(10)

    row = _row(page, f'data-owner="{mine.owner}"')
    assert "Alive" in row and "script" in row
    assert "waits_for_the_test" in row
    assert 'data-poll="live"' in page


def test_a_worker_shows_its_queue_then_is_lost_after_kill_9(client, tmp_path):
    worker = start_worker(tmp_path, concurrency=1, env={"RUNS_HEARTBEAT_SECONDS": "0.2"})
    try:
        process = _wait_for(
            lambda: next(
                (p for p in worker_processes() if p.kind == "worker" and worker.queue in p.queues),
                None,
            )
        )
        alive_page = client.get("/workers/").content.decode()
        worker.kill()
        _wait_for(
            lambda: not next(p for p in worker_processes() if p.owner == process.owner).alive,
            timeout=10,
        )
        lost_page = client.get("/workers/").content.decode()
    finally:
        worker.stop()

    alive_row = _row(alive_page, f'data-owner="{process.owner}"')
    assert "Alive" in alive_row and f'<span class="tag">{worker.queue}</span>' in alive_row
    lost_row = _row(lost_page, f'data-owner="{process.owner}"')
    assert "Lost" in lost_row and "worker--lost" in lost_page
    assert "lost</h2>" in lost_page or " lost" in lost_page


def test_scripts_can_be_hidden(client):
    page = client.get("/workers/", {"scripts": "0"}).content.decode()

    assert "Show scripts too" in page
    assert '<span class="muted">script</span>' not in page
