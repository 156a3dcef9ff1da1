"""Benchmark: memory of one flow run of N trivial task runs, sequential calls and a map.

    python tests/perf/bench_memory.py [--n 10000] [--kind sequential|map|both] [--top 0]

For each kind, in a process of its own (so that the peak is its own):

- peak RSS of the process (``ru_maxrss``) running one flow of N task runs, without tracemalloc;
- retained bytes per finished task run (tracemalloc): what the flow run still holds once the
  runs are final, their rows written and the caller's futures dropped (measured inside the flow,
  so it is what a flow of N + 1 task runs keeps of the first N).

``--top K`` prints the K source lines that retain the most (to see where memory goes). The
database is a temporary SQLite RUNS_HOME unless RUNS_HOME / DATABASE_URL are set.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc


def _flows(n: int, measure: bool, top: int):
    from runs import flow, task
    from runs.orchestration import writer

    @task
    def trivial(x):
        return x + 1

    found: dict = {}

    def start() -> None:
        if measure:
            gc.collect()
            writer.flush()
            found["before"] = tracemalloc.take_snapshot() if top else None
            found["start"] = tracemalloc.get_traced_memory()[0]

    def stop() -> None:
        if measure:
            gc.collect()
            writer.flush()
            found["end"] = tracemalloc.get_traced_memory()[0]
            if top:
                found["top"] = tracemalloc.take_snapshot().compare_to(found["before"], "lineno")[
                    :top
                ]

    @flow
    def sequential(n):
        start()
        for i in range(n):
            trivial(i)
        stop()

    @flow
    def mapped(n):
        start()
        for future in trivial.map(range(n)):  # the caller drops each future once read
            future.wait()
        stop()

    return {"sequential": sequential, "map": mapped}, found


def run_one(kind: str, n: int, top: int) -> dict:
    """In this process: one flow of ``n`` runs for the peak, one traced for the retained bytes."""
    from runs.bootstrap import ensure_ready

    ensure_ready()
    flows, _ = _flows(n, False, 0)
    flows[kind](10)  # warm up: tables, caches, threads
    started = time.perf_counter()
    flows[kind](n)
    elapsed = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    traced_n = min(n, 5_000)  # tracemalloc slows every allocation: a part of n is enough
    flows, found = _flows(traced_n, True, top)
    tracemalloc.start(1)
    flows[kind](traced_n)
    tracemalloc.stop()
    result = {
        "kind": kind,
        "n": n,
        "ms_per_run": elapsed * 1000 / n,
        "peak_rss": peak_rss,
        "traced_n": traced_n,
        "retained_per_run": (found["end"] - found["start"]) / traced_n,
    }
    if top:
        result["top"] = [str(stat) for stat in found["top"]]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--kind", choices=("sequential", "map", "both"), default="both")
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RUNS_HOME", tempfile.mkdtemp(prefix="runs-bench-"))

    if args.child:
        print(json.dumps(run_one(args.kind, args.n, args.top)))
        return

    kinds = ("sequential", "map") if args.kind == "both" else (args.kind,)
    print(f"task runs per flow: {args.n}; machine: {os.cpu_count()} cores")
    for kind in kinds:
        command = [sys.executable, __file__, "--child", "--kind", kind, "--n", str(args.n)]
        command += ["--top", str(args.top)]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"bench_memory: the {kind} run failed")
        found = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{kind:>10}: peak RSS {found['peak_rss'] / 1e6:.1f} MB; retained per finished "
            f"task run {found['retained_per_run']:.0f} B (traced over {found['traced_n']}); "
            f"{found['ms_per_run']:.3f} ms per task run"
        )
        for line in found.get("top", []):
            print(f"    {line}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
