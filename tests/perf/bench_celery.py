"""Benchmark: N trivial task runs on the Celery runner beside raw Celery doing N no-ops.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 python tests/perf/bench_celery.py [--n 2000]

Starts two ``runs worker`` processes on the broker and database configured (the embedded
filesystem broker and SQLite when nothing is set), then times, in the same run and on the same
workers: raw Celery sending N no-op messages and waiting until all ran; a flow mapping a
trivial task over N elements with CeleryTaskRunner, every run recorded in the database; the
same map with ``retries=1``; and min(N, 200) runs of 50 ms under a tag limit of 3, with the
most runs the recorded state history shows RUNNING at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.benchdb import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="tasks per side (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="runs worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker (2)")
    parser.add_argument("--limit", type=int, default=3, help="the tag limit of the held runs (3)")
    parser.add_argument("--sleep", type=float, default=0.05, help="each held run's work (0.05 s)")
    args = parser.parse_args()
    prepare()
    os.environ["RUNS_FLOW_MODULES"] = "tests.perf.celery_noop"

    from runs import flow
    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.conf import settings
    from django.db import connection

    from runs import tags
    from runs.runners.celery import CeleryTaskRunner
    from runs_limits.services import create_limit
    from tests.limits.history import hand_overs, max_concurrency, running_spans
    from tests.perf.celery_noop import raw_noop, runs_noop, runs_sleep
    from tests.workers import start_worker

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="runs-bench-workers-"))
    workers = [
        start_worker(folder, queue=queue, concurrency=args.concurrency) for _ in range(args.workers)
    ]
    try:
        counter = folder / "raw-counter"
        counter.touch()
        started = time.perf_counter()
        for _ in range(args.n):
            raw_noop.apply_async(args=[str(counter)], queue=queue)
        while counter.stat().st_size < args.n:
            time.sleep(0.005)
        raw_seconds = time.perf_counter() - started

        @flow(task_runner=CeleryTaskRunner(queue=queue))
        def mapped(n: int) -> int:
            return len([f.result() for f in runs_noop.map(range(n))])

        started = time.perf_counter()
        assert mapped(args.n) == args.n
        runs_seconds = time.perf_counter() - started

        @flow(task_runner=CeleryTaskRunner(queue=queue))
        def mapped_with_retries(n: int) -> int:
            futures = runs_noop.with_options(retries=1).map(range(n))
            return len([f.result() for f in futures])

        started = time.perf_counter()
        assert mapped_with_retries(args.n) == args.n
        retries_seconds = time.perf_counter() - started

        tag = f"bench-limit-{uuid.uuid4().hex[:8]}"
        create_limit(tag=tag, concurrency_limit=args.limit)
        limited_n = min(args.n, 200)

        @flow(task_runner=CeleryTaskRunner(queue=queue))
        def limited(n: int) -> int:
            with tags(tag):
                futures = runs_sleep.map([args.sleep] * n)
            return len([f.result() for f in futures])

        started = time.perf_counter()
        assert limited(limited_n) == limited_n
        limited_seconds = time.perf_counter() - started
        spans = running_spans(tag)
        history_peak = max_concurrency(spans)
        gaps = sorted(hand_overs(spans, args.limit)) or [0.0]
    finally:
        for worker in workers:
            worker.stop()

    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    print(
        f"database: {connection.vendor}; broker: {broker}; workers: {args.workers} x "
        f"{args.concurrency} processes; tasks per side: {args.n}"
    )
    print(
        f"raw Celery no-ops:       {args.n / raw_seconds:8.1f} tasks/s "
        f"({raw_seconds * 1000 / args.n:.2f} ms each)"
    )
    print(
        f"runs CeleryTaskRunner:   {args.n / runs_seconds:8.1f} task runs/s "
        f"({runs_seconds * 1000 / args.n:.2f} ms each, every state recorded)"
    )
    print(f"runs / raw throughput:   {raw_seconds / runs_seconds:.2f}")
    print(
        f"same map, retries=1:     {args.n / retries_seconds:8.1f} task runs/s "
        f"({raw_seconds / retries_seconds:.2f} of raw)"
    )
    ideal = limited_n * args.sleep / args.limit
    print(
        f"{limited_n} runs of {args.sleep * 1000:.0f} ms, tag limit {args.limit}: "
        f"{limited_seconds:.2f} s (ideal {ideal:.2f} s); most RUNNING at once in the recorded "
        f"history: {history_peak}"
    )
    print(
        f"  a freed slot stood empty: median {gaps[len(gaps) // 2] * 1000:.0f} ms, "
        f"p90 {gaps[int(len(gaps) * 0.9)] * 1000:.0f} ms, longest {gaps[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
