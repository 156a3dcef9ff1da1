"""Benchmark: overhead per task run of a flow calling a trivial task N times in sequence.

    python tests/perf/bench_engine.py [--n 1000] [--repeat 5]

Prints the median overhead per task run (flow time minus the bare function calls, divided by
N) and the peak memory (tracemalloc) per repeat, on the database configured (a temporary
SQLite RUNS_HOME unless RUNS_HOME / DATABASE_URL are set).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("RUNS_HOME", tempfile.mkdtemp(prefix="runs-bench-"))

    from runs import flow, task
    from runs.bootstrap import ensure_ready

    ensure_ready()

    def trivial(x):
        return x + 1

    trivial_task = task(trivial)

    @flow
    def sequential(n):
        for i in range(n):
            trivial_task(i)

    sequential(10)  # warm up: tables, caches, threads
    started = time.perf_counter()
    for i in range(args.n):
        trivial(i)
    bare = time.perf_counter() - started

    overheads = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        sequential(args.n)
        elapsed = time.perf_counter() - started
        overheads.append((elapsed - bare) / args.n)

    # Memory, measured apart (tracemalloc slows every allocation): the peak during a flow run,
    # and what stays allocated after each one, which must not grow with finished runs.
    tracemalloc.start()
    retained, peak = [], 0
    for _ in range(3):
        tracemalloc.reset_peak()
        sequential(args.n)
        current, run_peak = tracemalloc.get_traced_memory()
        retained.append(current)
        peak = max(peak, run_peak)
    tracemalloc.stop()
    from django.db import connection

    print(f"database: {connection.vendor}; task runs per flow: {args.n}; repeats: {args.repeat}")
    print(
        f"median overhead per task run: {statistics.median(overheads) * 1000:.3f} ms "
        f"(min {min(overheads) * 1000:.3f}, max {max(overheads) * 1000:.3f})"
    )
    print(
        f"peak traced memory during a flow run: {peak / 1e6:.1f} MB; retained after "
        f"flow runs 1, 2, 3: {', '.join(f'{r / 1e6:.2f} MB' for r in retained)}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
