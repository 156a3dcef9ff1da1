"""Benchmark: one flow of N trivial task runs, sequential calls or a map, at scale.

    python tests/perf/bench_scale.py [--n 1000] [--kind map|sequential|both] [--chunk 10000]

Each kind runs in a process of its own and prints the milliseconds per task run (the whole
flow run, its rows written, divided by N) and the peak RSS of that process. The map flow maps
over ``--chunk`` elements at a time and drops each chunk's futures once they are final (a flow
that keeps a million futures keeps a million results). The database is a temporary SQLite
RUNS_HOME unless RUNS_HOME / DATABASE_URL are set; its size after the flow is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_one(kind: str, n: int, chunk: int) -> dict:
    from runs import flow, task
    from runs.bootstrap import ensure_ready
    from runs.orchestration import writer

    ensure_ready()

    @task
    def trivial(x):
        return x + 1

    @flow
    def sequential(n):
        for i in range(n):
            trivial(i)

    @flow
    def mapped(n):
        for start in range(0, n, chunk):
            for future in trivial.map(range(start, min(n, start + chunk))):
                future.wait()

    chosen = sequential if kind == "sequential" else mapped
    chosen(10)  # warm up: tables, caches, threads
    started = time.perf_counter()
    state = chosen(n, return_state=True)
    writer.flush()
    elapsed = time.perf_counter() - started
    if not state.is_completed():
        raise SystemExit(f"bench_scale: the flow ended {state.name}: {state.message}")
    from django.db import connection

    database = connection.settings_dict.get("NAME") or ""
    size = sum(
        path.stat().st_size
        for path in Path(str(database)).parent.glob(Path(str(database)).name + "*")
        if connection.vendor == "sqlite" and path.is_file()
    )
    return {
        "kind": kind,
        "n": n,
        "vendor": connection.vendor,
        "ms_per_run": elapsed * 1000 / n,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "db_bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--kind", choices=("sequential", "map", "both"), default="both")
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_one(args.kind, args.n, args.chunk)))
        return

    kinds = ("sequential", "map") if args.kind == "both" else (args.kind,)
    print(f"task runs per flow: {args.n}; machine: {os.cpu_count()} cores")
    for kind in kinds:
        env = dict(os.environ)
        if "RUNS_HOME" not in env:  # a fresh database per kind, so that its size is this flow's
            env["RUNS_HOME"] = tempfile.mkdtemp(prefix="runs-bench-")
        command = [sys.executable, __file__, "--child", "--kind", kind, "--n", str(args.n)]
        command += ["--chunk", str(args.chunk)]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"bench_scale: the {kind} run failed")
        found = json.loads(done.stdout.strip().splitlines()[-1])
        size = f"; database {found['db_bytes'] / 1e6:.0f} MB" if found["db_bytes"] else ""
        print(
            f"{kind:>10}: {found['ms_per_run']:.3f} ms per task run; peak RSS "
            f"{found['peak_rss'] / 1e6:.1f} MB ({found['vendor']}{size})"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
