"""Benchmark: server time of the dashboard's run lists and flow-run page with many task runs.

    python tests/perf/bench_dashboard.py [--n 1000000] [--large 100000] [--repeat 15]

Seeds N task runs (spread over N/1000 flow runs and about a month of ``created`` times, 80 %
Completed, 10 % Failed, 5 % TimedOut, 5 % Cached) plus one flow run with 1,000 task runs and
their state history, and one flow run with LARGE task runs (two maps and 200 plain calls, each
with its three states), then times through Django's test client (server side, no network): the
task-run list's first page, a filtered page (state=Failed), a deep page (keyset cursor half-way
down), the page of the flow run with 1,000 task runs, and the page of the large flow run folded,
with its bigger map expanded, and that map's last page of rows. Prints medians and the database
vendor. SQLite under a temporary RUNS_HOME by default; with DATABASE_URL set to PostgreSQL, a
throwaway database is created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.benchdb import prepare  # noqa: E402

STATES = (
    [("COMPLETED", "Completed")] * 16
    + [("FAILED", "Failed")] * 2
    + [("FAILED", "TimedOut"), ("COMPLETED", "Cached")]
)
GOAL_MS = 100.0
LARGE_GOAL_MS = 300.0


def _insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Many rows at once: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def seed(n: int) -> tuple:
    """N task runs for the lists, and one flow run with 1,000 task runs; (big flow run, start)."""
    from django.db import connection, transaction

    from runs.models import Flow, FlowRun, Log, State, TaskRun

    flow = Flow.objects.create(name=f"bench-{uuid.uuid4().hex[:6]}")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    step = dt.timedelta(days=29) / max(n, 1)
    flow_runs = [
        FlowRun(
            flow=flow,
            name=f"bench-flow-run-{i}",
            state_type="COMPLETED",
            state_name="Completed",
            created=start + i * 1000 * step,
        )
        for i in range(max(n // 1000, 1))
    ]
    FlowRun.objects.bulk_create(flow_runs, batch_size=1000)
    columns = [
        "id",
        "name",
        "parameters",
        "tags",
        "state_type",
        "state_name",
        "state_message",
        "state_timestamp",
        "run_count",
        "created",
        "start_time",
        "end_time",
        "owner",
        "flow_run_id",
        "task_key",
        "task_name",
        "map_index",
        "result_key",
    ]
    is_pg = connection.vendor == "postgresql"

    def value(field_name, python_value):
        field = TaskRun._meta.get_field(field_name)
        return field.get_db_prep_save(python_value, connection) if not is_pg else python_value

    batch: list[tuple] = []
    for i in range(n):
        state_type, state_name = STATES[i % len(STATES)]
        created = start + i * step
        batch.append(
            (
                value("id", uuid.uuid4()),
                f"task-{i % 97}-{i}",
                "{}",
                "[]",
                state_type,
                state_name,
                "",
                value("created", created),
                1,
                value("created", created),
                value("created", created),
                value("created", created + dt.timedelta(seconds=1)),
                "",
                value("flow_run", flow_runs[i // 1000 % len(flow_runs)].id),
                f"key-{i % 97}",
                f"task-{i % 97}",
                -1,
                "",
            )
        )
        if len(batch) == 20_000:
            with transaction.atomic():
                _insert(TaskRun._meta.db_table, columns, batch)
            batch = []
    if batch:
        with transaction.atomic():
            _insert(TaskRun._meta.db_table, columns, batch)

    now = dt.datetime.now(dt.UTC)
    big = FlowRun.objects.create(
        flow=flow,
        name="bench-big",
        state_type="COMPLETED",
        state_name="Completed",
        created=now,
        start_time=now,
        end_time=now + dt.timedelta(seconds=60),
    )
    runs = []
    for i in range(1000):
        at = now + dt.timedelta(milliseconds=50 * i)
        state_type, state_name = STATES[i % len(STATES)]
        runs.append(
            TaskRun(
                flow_run=big,
                name=f"step-{i}",
                task_name=f"step-{i % 10}",
                task_key=f"step-{i % 10}",
                state_type=state_type,
                state_name=state_name,
                created=at,
                start_time=at,
                end_time=at + dt.timedelta(seconds=1),
                run_count=1,
            )
        )
    TaskRun.objects.bulk_create(runs, batch_size=1000)
    states, logs = [], []
    for run in runs:
        for k, (t, name) in enumerate(
            [("PENDING", "Pending"), ("RUNNING", "Running"), (run.state_type, run.state_name)]
        ):
            states.append(
                State(
                    task_run=run,
                    type=t,
                    name=name,
                    timestamp=run.created + dt.timedelta(milliseconds=500 * k),
                )
            )
        logs.append(
            Log(task_run=run, level=20, message=f"{run.name} says hello", timestamp=run.created)
        )
    State.objects.bulk_create(states, batch_size=2000)
    Log.objects.bulk_create(logs, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return big, start


def seed_large(size: int):
    """One flow run with ``size`` task runs: 200 plain calls, then two maps sharing the rest.

    The bigger map (task key ``large-map-a``) runs over 60 s; a tenth of it fails, all in the
    middle of the run, so the folded row has failures in one place. Every task run has its
    Pending, Running and final states. Returns the flow run.
    """
    from django.db import connection, transaction

    from runs.models import Flow, FlowRun, State, TaskRun

    flow = Flow.objects.create(name=f"bench-large-{uuid.uuid4().hex[:6]}")
    began = dt.datetime.now(dt.UTC)
    run = FlowRun.objects.create(
        flow=flow,
        name="bench-large",
        state_type="FAILED",
        state_name="Failed",
        created=began,
        start_time=began,
        end_time=began + dt.timedelta(seconds=62),
    )
    is_pg = connection.vendor == "postgresql"

    def value(model, field_name, python_value):
        field = model._meta.get_field(field_name)
        return python_value if is_pg else field.get_db_prep_save(python_value, connection)

    plain = min(200, size)
    big_map = (size - plain) * 4 // 5
    task_columns = [
        "id", "name", "parameters", "tags", "state_type", "state_name", "state_message",
        "state_timestamp", "run_count", "created", "start_time", "end_time", "owner",
        "flow_run_id", "task_key", "task_name", "map_index", "result_key",
    ]  # fmt: skip
    state_columns = ["task_run_id", "type", "name", "message", "timestamp", "result_key"]
    tasks: list[tuple] = []
    states: list[tuple] = []

    def flush() -> None:
        with transaction.atomic():
            _insert(TaskRun._meta.db_table, task_columns, tasks)
            _insert(State._meta.db_table, state_columns, states)
        tasks.clear()
        states.clear()

    for i in range(size):
        if i < plain:
            key, name, index = f"large-step-{i % 5}", f"large-step-{i % 5}", -1
            created = began + dt.timedelta(milliseconds=5 * i)
        elif i < plain + big_map:
            key, name, index = "large-map-a", "large-map-a", i - plain
            created = began + dt.timedelta(seconds=1 + 60 * index / max(big_map, 1))
        else:
            key, name, index = "large-map-b", "large-map-b", i - plain - big_map
            created = began + dt.timedelta(seconds=1 + 30 * index / max(size - plain - big_map, 1))
        middle = key == "large-map-a" and 0.45 < index / max(big_map, 1) < 0.55
        state_type, state_name = ("FAILED", "Failed") if middle else ("COMPLETED", "Completed")
        started = created + dt.timedelta(milliseconds=20)
        ended = started + dt.timedelta(milliseconds=200)
        task_id = uuid.uuid4()
        db_id = value(TaskRun, "id", task_id)
        tasks.append(
            (
                db_id, f"{name}-{max(index, i)}", "{}", "[]", state_type, state_name, "",
                value(TaskRun, "created", ended), 1, value(TaskRun, "created", created),
                value(TaskRun, "created", started), value(TaskRun, "created", ended), "",
                value(TaskRun, "flow_run", run.id), key, name, index, "",
            )
        )  # fmt: skip
        for type_, state, at in (
            ("PENDING", "Pending", created),
            ("RUNNING", "Running", started),
            (state_type, state_name, ended),
        ):
            states.append((db_id, type_, state, "", value(State, "timestamp", at), ""))
        if len(tasks) == 10_000:
            flush()
    if tasks:
        flush()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return run


def timed(client, path: str, repeat: int) -> float:
    """Median milliseconds of GET ``path`` (after two warm-up requests); checks status 200."""
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


LARGE_FOLDED = "large flow run, folded"
LARGE_EXPANDED = "large flow run, big map expanded"
LARGE_LAST_PAGE = "large flow run, expanded, last rows"


def _check_large_pages(client, large, pages: dict[str, str]) -> None:
    """The large flow run's pages draw what they claim: a folded row with counts, paged rows."""
    text = re.sub(r"<[^>]+>", "", client.get(pages[LARGE_FOLDED]).content.decode())
    assert re.search(r"[\d,]+ ok, [\d,]+ failed", text), "the folded row shows no counts"
    html = client.get(pages[LARGE_EXPANDED]).content.decode()
    assert html.count('class="tl__label') <= 200, "the expanded timeline draws too many rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="task runs to seed")
    parser.add_argument(
        "--large",
        type=int,
        default=None,
        help="task runs of the one large flow run (default: N, at least 2,000, at most 100,000)",
    )
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page")
    args = parser.parse_args()
    if args.large is None:
        args.large = min(max(args.n, 2000), 100_000)
    prepare()
    os.environ["DJANGO_SETTINGS_MODULE"] = "runs_project.settings"
    run(args)


def run(args) -> None:
    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from runs import selectors

    began = time.perf_counter()
    big, _ = seed(args.n)
    print(
        f"database: {connection.vendor}; seeded {args.n:,} task runs "
        f"+ 1 flow run with 1,000 task runs in {time.perf_counter() - began:.1f} s"
    )

    began = time.perf_counter()
    large = seed_large(args.large)
    print(f"seeded 1 flow run with {args.large:,} task runs in {time.perf_counter() - began:.1f} s")

    from runs.roles import set_role

    user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:6]}")
    set_role(user, "viewer")
    client = Client()
    client.force_login(user)

    # A real cursor half-way down the list: the last row of a page that ends there.
    middle = selectors.task_runs().values_list("created", flat=True)[args.n // 2]
    deep = selectors.keyset_page(selectors.task_runs(until=middle), cursor=None, size=1)
    pages = {
        "task runs, first page": "/task-runs/",
        "task runs, filtered (state=Failed)": "/task-runs/?state=Failed",
        "task runs, deep page (half-way)": f"/task-runs/?cursor={deep.next_cursor}",
        "flow run with 1,000 task runs": f"/flow-runs/{big.id}/",
        "flow runs, first page": "/flow-runs/",
        "overview": "/",
        LARGE_FOLDED: f"/flow-runs/{large.id}/",
        LARGE_EXPANDED: f"/flow-runs/{large.id}/?expand=large-map-a",
        LARGE_LAST_PAGE: f"/flow-runs/{large.id}/?expand=large-map-a&rows=999999",
    }
    _check_large_pages(client, large, pages)
    results = {}
    for label, path in pages.items():
        results[label] = timed(client, path, args.repeat)
    width = max(len(label) for label in results)
    for label, ms in results.items():
        limit = (
            LARGE_GOAL_MS if label in (LARGE_FOLDED, LARGE_EXPANDED, LARGE_LAST_PAGE) else GOAL_MS
        )
        goal = (
            ""
            if label in ("flow runs, first page", "overview")
            else ("  ok" if ms < limit else f"  over the {limit:.0f} ms goal")
        )
        print(f"{label:<{width}}  median {ms:7.1f} ms{goal}")


if __name__ == "__main__":
    main()
