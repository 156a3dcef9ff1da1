"""A worker applies RUNS_RETENTION_DAYS by itself: old finished flow runs go without a command."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from runs.models import Flow, FlowRun
from runs.states import now
from tests.workers import start_worker


def test_worker_prunes_finished_runs_older_than_the_retention(tmp_path, runs_home):
    flow, _ = Flow.objects.get_or_create(name=f"retention-{uuid.uuid4().hex[:6]}")
    long_ago = now() - dt.timedelta(days=40)
    old = FlowRun.objects.create(
        flow=flow,
        name="old",
        state_type="COMPLETED",
        state_name="Completed",
        created=long_ago,
        start_time=long_ago,
        end_time=long_ago,
    )
    recent = FlowRun.objects.create(
        flow=flow,
        name="recent",
        state_type="COMPLETED",
        state_name="Completed",
        created=now(),
        end_time=now(),
    )
    (runs_home / "prune.stamp").unlink(missing_ok=True)
    worker = start_worker(tmp_path, concurrency=1, env={"RUNS_RETENTION_DAYS": "30"})
    try:
        deadline = time.monotonic() + 30
        while FlowRun.objects.filter(id=old.id).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not FlowRun.objects.filter(id=old.id).exists(), worker.log()
        assert FlowRun.objects.filter(id=recent.id).exists()
        while "Retention (RUNS_RETENTION_DAYS=30)" not in worker.log():
            assert time.monotonic() < deadline, worker.log()  # the summary follows the pass
            time.sleep(0.1)
    finally:
        worker.stop()
        (runs_home / "prune.stamp").unlink(missing_ok=True)
