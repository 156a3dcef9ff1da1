"""Benchmark: the cost per task run of a cache hit, and of a task that fails twice then succeeds.

    python tests/perf/bench_retries_cache.py [--n 1000]

A cache hit is compared with an ordinary trivial task run in the same flow shape; the retried
task uses zero delay. Prints the median per task run over 3 flow runs each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("RUNS_HOME", tempfile.mkdtemp(prefix="runs-bench-"))

    from runs import flow, task
    from runs.bootstrap import ensure_ready

    ensure_ready()

    @task
    def plain(x):
        return x

    @task(cache_key_fn=lambda context, parameters: "bench-static-key")
    def cached(x):
        return x

    attempts: dict[int, int] = {}

    @task(retries=2, retry_delay_seconds=0)
    def fails_twice(x):
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] < 3:
            raise ValueError("not yet")
        return x

    @flow
    def calling(which, n):
        for i in range(n):
            which(i, return_state=True)

    import logging

    from runs.logging import configure_run_logging

    configure_run_logging()
    for handler in logging.getLogger("runs.run").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
            handler.setLevel(logging.CRITICAL)  # tracebacks still stored, not printed
    calling(cached, 1)  # fills the cache entry

    def per_run(which) -> float:
        times = []
        for _ in range(3):
            attempts.clear()
            started = time.perf_counter()
            calling(which, args.n)
            times.append((time.perf_counter() - started) / args.n)
        return statistics.median(times) * 1000

    from django.db import connection

    plain_ms, cached_ms, retry_ms = per_run(plain), per_run(cached), per_run(fails_twice)
    print(f"database: {connection.vendor}; task runs per flow: {args.n}")
    print(f"ordinary task run: {plain_ms:.3f} ms")
    print(f"cache hit:         {cached_ms:.3f} ms")
    print(f"fails twice, then succeeds (3 attempts, zero delay): {retry_ms:.3f} ms")


if __name__ == "__main__":
    main()
