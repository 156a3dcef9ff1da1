"""Benchmark: what a concurrency slot (acquire + release) adds to a task run, limit never full.

    python tests/perf/bench_slots.py [--n 200] [--rounds 7]

Runs flows of N trivial tasks in sequence, without tags and with a tag whose limit is never
reached, in alternating rounds, and prints the median difference per task run, on the
database configured (SQLite by default; set DATABASE_URL for PostgreSQL). Then times the
slot calls alone: an acquire and a release, each its own transaction, the release never
deferred (the worst case of a task run: on PostgreSQL a task run's final release usually
rides with the next acquire).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.benchdb import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7, help="plain/limited flow pairs")
    args = parser.parse_args()
    prepare()  # a throwaway RUNS_HOME, and on PostgreSQL a fresh database

    from runs import flow, task
    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.db import connection

    from runs_limits import services

    tag = f"bench-{uuid.uuid4().hex[:6]}"
    services.create_limit(tag=tag, concurrency_limit=1_000_000)

    @task
    def plain(x):
        return x

    limited = plain.with_options(name="limited", tags=[tag])

    @flow
    def calling(which, n):
        for i in range(n):
            which(i)

    def per_run(which) -> float:
        started = time.perf_counter()
        calling(which, args.n)
        return (time.perf_counter() - started) / args.n * 1000

    per_run(plain), per_run(limited)  # warm-up
    # Rounds alternate plain and limited flows, so a slow spell of the machine hits both.
    rounds = [(per_run(plain), per_run(limited)) for _ in range(args.rounds)]
    plain_ms = statistics.median(p for p, _ in rounds)
    limited_ms = statistics.median(lim for _, lim in rounds)
    added_ms = statistics.median(lim - p for p, lim in rounds)
    statements_ms = slot_statements_per_run(tag, args.n)
    print(f"database: {connection.vendor}; task runs per flow: {args.n}; rounds: {args.rounds}")
    print(f"task run without tags: {plain_ms:.3f} ms")
    print(
        f"task run with a limited tag: {limited_ms:.3f} ms "
        f"(slot acquire + release adds {added_ms:.3f} ms, median of the rounds)"
    )
    print(
        f"slot calls alone (acquire + release, each committed, none deferred): "
        f"{statements_ms:.3f} ms per run"
    )


def slot_statements_per_run(tag: str, n: int) -> float:
    """Median time of acquire + release per run, each committed on its own, none deferred."""
    from runs import owners
    from runs.models import Flow, FlowRun, TaskRun
    from runs.states import now
    from runs_limits import slots

    owners.renew()
    flow_row, _ = Flow.objects.get_or_create(name="bench-slots")
    flow_run = FlowRun.objects.create(flow=flow_row, name="bench", created=now())
    runs = TaskRun.objects.bulk_create(
        TaskRun(
            flow_run=flow_run,
            name="t",
            task_key="k",
            task_name="t",
            state_type="RUNNING",
            created=now(),
            owner=owners.current_owner(),
        )
        for _ in range(n)
    )
    times = []
    for run in runs:
        started = time.perf_counter()
        slots.acquire(run.id, [tag])
        slots.release(run.id)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
