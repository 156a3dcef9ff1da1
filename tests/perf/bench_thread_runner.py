"""Benchmark: submitted and mapped trivial task runs on the thread task runner.

    python tests/perf/bench_thread_runner.py [--n 1000]

Prints the wall time per task run for N runs made with ``.map()`` and with ``.submit()``,
each waited for, median of 3 flow runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    def trivial(x):
        return x + 1

    @flow
    def mapped(n):
        return [f.result() for f in trivial.map(range(n))]

    @flow
    def submitted(n):
        return [f.result() for f in [trivial.submit(i) for i in range(n)]]

    mapped(10)

    def per_run(which) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            which(args.n)
            times.append((time.perf_counter() - started) / args.n)
        return statistics.median(times) * 1000

    from django.db import connection

    map_ms, submit_ms = per_run(mapped), per_run(submitted)
    print(f"database: {connection.vendor}; task runs per flow: {args.n}")
    print(f"mapped:    {map_ms:.3f} ms per task run")
    print(f"submitted: {submit_ms:.3f} ms per task run")


if __name__ == "__main__":
    main()
