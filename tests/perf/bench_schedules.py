"""Benchmark: the scheduler's pass, and what a work queue adds to starting a flow run.

    python tests/perf/bench_schedules.py [--n 1000] [--starts 200]

Makes N deployments with a cron every minute, then times one scheduling pass with an hour's
horizon (N x 60 runs made ahead: seconds, runs per second), a second pass over the same
deployments (nothing to make: the steady cost of a pass), and a Late pass. Then starts
``--starts`` flow runs of a registered flow: into a paused queue (the run is made and waits)
and into a queue with room (the run also takes a place and is sent), and prints the ms per run
of each and their difference; and the ms per run of sending runs that waited in a queue when it
is resumed (dispatch alone). On the database configured (SQLite by default; set DATABASE_URL
for PostgreSQL), in a throwaway RUNS_HOME.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.benchdb import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="deployments (each every minute)")
    parser.add_argument("--starts", type=int, default=200, help="flow runs started per kind")
    args = parser.parse_args()
    prepare()

    from runs.bootstrap import ensure_ready

    ensure_ready()
    from django.db import connection

    from runs import conf
    from runs.registry import register_flow

    flow = register_flow("runs.demo_flows:demo_caching")
    print(f"database: {connection.vendor}; deployments: {args.n}; starts: {args.starts}")
    with conf.override(
        RUNS_SCHEDULER_HORIZON_SECONDS=3600.0,
        RUNS_SCHEDULER_MAX_RUNS=100,
        RUNS_SCHEDULER_MIN_RUNS=3,
    ):
        bench_pass(flow.name, args.n)
    bench_queue_cost(flow.name, args.starts)


def bench_pass(flow_name: str, n: int) -> None:
    from runs.services.deployments import ScheduleInput, create_deployment
    from runs.services.scheduling import mark_late_runs, schedule_pass

    started = time.perf_counter()
    for i in range(n):
        create_deployment(
            flow_name=flow_name,
            name=f"bench-{i}",
            schedules=[ScheduleInput("cron", "* * * * *")],
        )
    print(f"made {n} deployments in {time.perf_counter() - started:.2f} s (set-up, not timed)")

    # half past a minute: an hour ahead holds exactly 60 times
    now = dt.datetime.now(dt.UTC).replace(second=30, microsecond=0) + dt.timedelta(days=1)
    started, cpu = time.perf_counter(), time.process_time()
    made = schedule_pass(now)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"first pass: {made} runs made in {took:.2f} s ({made / took:,.0f} runs/s; "
        f"{took / max(n, 1) * 1000:.2f} ms per deployment; {cpu:.2f} s of CPU in this process, "
        "SQLite's included: the wall time less what other processes took)"
    )
    started = time.perf_counter()
    again = schedule_pass(now)
    print(f"second pass (nothing to make): {again} runs in {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    later = schedule_pass(now + dt.timedelta(minutes=1))
    print(f"a minute later: {later} runs made in {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    late = mark_late_runs(now + dt.timedelta(minutes=5))
    print(f"Late pass: {late} runs marked in {time.perf_counter() - started:.3f} s")


def bench_queue_cost(flow_name: str, starts: int) -> None:
    from runs.services.flow_runs import start_flow_run
    from runs.services.work_queues import create_work_queue, pause_work_queue, resume_work_queue

    waiting = create_work_queue(name=f"bench-paused-{uuid.uuid4().hex[:6]}", paused=True)
    room = create_work_queue(name=f"bench-room-{uuid.uuid4().hex[:6]}")

    def per_run(queue_name: str, count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            start_flow_run(flow_name=flow_name, work_queue=queue_name)
        return (time.perf_counter() - started) / count * 1000

    per_run(waiting.name, 10), per_run(room.name, 10)  # warm-up
    rounds = [
        (per_run(waiting.name, starts // 5), per_run(room.name, starts // 5)) for _ in range(5)
    ]
    held = statistics.median(w for w, _ in rounds)
    sent = statistics.median(r for _, r in rounds)
    added = statistics.median(r - w for w, r in rounds)
    print(f"start_flow_run into a paused queue (made, waits): {held:.3f} ms per run")
    print(
        f"start_flow_run into a queue with room (made, placed, sent): {sent:.3f} ms per run "
        f"(the place and the send add {added:.3f} ms, median of 5 rounds)"
    )

    queue = create_work_queue(name=f"bench-resume-{uuid.uuid4().hex[:6]}")
    pause_work_queue(queue.name)
    for _ in range(starts):
        start_flow_run(flow_name=flow_name, work_queue=queue.name)
    started = time.perf_counter()
    resume_work_queue(queue.name)  # sends every waiting run
    took = time.perf_counter() - started
    print(f"dispatch of {starts} waiting runs on resume: {took / starts * 1000:.3f} ms per run")


if __name__ == "__main__":
    main()
