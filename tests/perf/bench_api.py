"""Benchmark: pages of GET /api/task-runs/ over many task runs, shallow and deep.

    python tests/perf/bench_api.py [--n 1000000] [--repeat 15]

Seeds N task runs (bulk insert; one in ten FAILED) into a fresh database, then times the first
page and the 500th page (or the deepest there is) of /api/task-runs/, without a filter and
with ``?state=FAILED``, through the whole Django stack (DRF test client, token-less forced
authentication). Prints the database vendor and the median of each. SQLite by default; set
DATABASE_URL for PostgreSQL (a fresh database is made on that server for the run, and dropped after).
Goal: under 50 ms per page, the same from the first page to deep pages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.benchdb import prepare  # noqa: E402

PAGE_SIZE = 50
DEEP_PAGE = 500


def seed(n: int) -> None:
    """N task runs in flow runs of 1000, created a millisecond apart, newest now."""
    from runs.models import Flow, FlowRun, TaskRun

    flow = Flow.objects.create(name=f"bench-api-{uuid.uuid4().hex[:8]}")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=n)
    per_flow_run = 1000
    batch = 10_000
    flow_runs = FlowRun.objects.bulk_create(
        [
            FlowRun(
                flow=flow,
                name=f"bench-{i}",
                state_type="COMPLETED",
                state_name="Completed",
                created=start + dt.timedelta(milliseconds=i * per_flow_run),
            )
            for i in range((n + per_flow_run - 1) // per_flow_run)
        ],
        batch_size=batch,
    )
    for first in range(0, n, batch):
        rows = []
        for i in range(first, min(first + batch, n)):
            failed = i % 10 == 0
            created = start + dt.timedelta(milliseconds=i)
            rows.append(
                TaskRun(
                    flow_run=flow_runs[i // per_flow_run],
                    name=f"step-{i}",
                    task_key="step",
                    task_name="step",
                    state_type="FAILED" if failed else "COMPLETED",
                    state_name="Failed" if failed else "Completed",
                    state_timestamp=created,
                    created=created,
                    start_time=created,
                    end_time=created,
                    run_count=1,
                )
            )
        TaskRun.objects.bulk_create(rows, batch_size=batch)


def medians_ms(client, urls: list[str], repeat: int) -> list[float]:
    """Median time of GET on each URL, taken in turns so that load on the machine hits all alike."""
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(repeat):
        for index, url in enumerate(urls):
            started = time.perf_counter()
            response = client.get(url)
            times[index].append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
    return [statistics.median(t) * 1000 for t in times]


def deep_url(client, url: str) -> tuple[str, int]:
    """The URL of page DEEP_PAGE of ``url`` (or of the last page), and its number."""
    page = 1
    while page < DEEP_PAGE:
        following = client.get(url).json()["next"]
        if not following:
            break
        url, page = following, page + 1
    return url, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="task runs to seed")
    parser.add_argument("--repeat", type=int, default=15, help="timings per page")
    parser.add_argument(
        "--skip-seed",
        action="store_true",
        help="time the task runs already in the database (seeded earlier)",
    )
    args = parser.parse_args()
    prepare()  # a throwaway RUNS_HOME, and on PostgreSQL a fresh database
    os.environ.setdefault("RUNS_ALLOWED_HOSTS", "*")

    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from runs.models import TaskRun

    started = time.perf_counter()
    if not args.skip_seed:
        seed(args.n)
    seeded = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE runs_taskrun")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    from runs.roles import set_role

    client = APIClient()
    bench_user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:8]}")
    set_role(bench_user, "viewer")
    client.force_authenticate(bench_user)
    total = TaskRun.objects.count()
    seeding = "none seeded" if args.skip_seed else f"{args.n} seeded in {seeded:.1f} s"
    print(
        f"database: {connection.vendor}; task runs: {total} ({seeding}); "
        f"page size {PAGE_SIZE}; median of {args.repeat}"
    )
    for label, url in [
        ("all", "/api/task-runs/"),
        ("state=FAILED", "/api/task-runs/?state=FAILED"),
    ]:
        url = f"{url}{'&' if '?' in url else '?'}page_size={PAGE_SIZE}"
        deep, number = deep_url(client, url)
        first, deep_ms = medians_ms(client, [url, deep], args.repeat)
        print(f"{label:>13}: page 1 {first:7.2f} ms | page {number} {deep_ms:7.2f} ms")


if __name__ == "__main__":
    main()
