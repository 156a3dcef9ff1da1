"""Retention: `runs prune` and prune_if_due delete old finished runs, their rows and results."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from runs import conf
from runs.models import FlowRun, Log, RunTag, State, TaskRun, TaskRunDependency
from runs.orchestration.rules import _cache_candidates
from runs.processes import process_key
from runs.results import persist_result, result_exists
from runs.services.prune import PruneError, parse_age, prune, prune_if_due
from runs.states import now
from tests.runs.api import seed

OLD = dt.timedelta(days=40)


def old_run(state: str = "COMPLETED", *, age: dt.timedelta = OLD, tasks: int = 2):
    """A flow run that ended ``age`` ago, with task runs, states, logs, tags, deps and results."""
    when = now() - age
    run = seed.flow_run(
        state=state,
        created=when,
        end_time=when,
        tags=["old"],
        result_key=persist_result("flow result"),
    )
    task_runs = [seed.task_run(run, created=when, tags=["old"]) for _ in range(tasks)]
    for task in task_runs:
        State.objects.create(
            task_run=task,
            type="COMPLETED",
            name="Completed",
            timestamp=when,
            result_key=persist_result(f"result of {task.name}"),
        )
        seed.log(task, "a line")
    seed.states(run, "RUNNING", state, start=when)
    if len(task_runs) > 1:
        seed.depends(task_runs[1], task_runs[0])
    return run, task_runs


def result_keys(run, task_runs):
    return [run.result_key] + list(
        State.objects.filter(task_run__in=task_runs).values_list("result_key", flat=True)
    )


def test_old_finished_runs_go_with_everything_hanging_off_them():
    run, tasks = old_run()
    keys = result_keys(run, tasks)
    recent, _ = old_run(age=dt.timedelta(days=1))
    still_running, _ = old_run(state="RUNNING")

    result = prune(older_than=dt.timedelta(days=30))

    assert not FlowRun.objects.filter(id=run.id).exists()
    assert not TaskRun.objects.filter(id__in=[t.id for t in tasks]).exists()
    assert not State.objects.filter(task_run_id__in=[t.id for t in tasks]).exists()
    assert not State.objects.filter(flow_run_id=run.id).exists()
    assert not Log.objects.filter(flow_run_id=run.id).exists()
    assert not RunTag.objects.filter(flow_run_id=run.id).exists()
    assert not TaskRunDependency.objects.filter(downstream_id=tasks[1].id).exists()
    assert not any(result_exists(key) for key in keys)
    assert FlowRun.objects.filter(id__in=[recent.id, still_running.id]).count() == 2
    assert result.flow_runs >= 1 and result.task_runs >= 2 and result.result_files >= 3


def test_dry_run_counts_and_removes_nothing():
    run, tasks = old_run(tasks=3)
    keys = result_keys(run, tasks)

    result = prune(older_than=dt.timedelta(days=30), dry_run=True)

    assert FlowRun.objects.filter(id=run.id).exists()
    assert TaskRun.objects.filter(flow_run=run).count() == 3
    assert all(result_exists(key) for key in keys)
    assert result.flow_runs >= 1 and result.task_runs >= 3
    assert result.states >= 5 and result.logs >= 3 and result.result_files >= 4
    assert "Would remove" in result.summary()
    prune(older_than=dt.timedelta(days=30))  # leave nothing old for the other tests


def test_small_batches_remove_every_run():
    runs = [old_run(tasks=1)[0] for _ in range(5)]

    prune(older_than=dt.timedelta(days=30), batch_size=2)

    assert not FlowRun.objects.filter(id__in=[r.id for r in runs]).exists()


def test_live_cache_entries_and_their_results_survive():
    run, tasks = old_run(tasks=1)
    cache_key = f"prune-{run.id}"
    live_key = persist_result("cached value")
    State.objects.create(
        task_run=tasks[0],
        type="COMPLETED",
        name="Completed",
        timestamp=now() - OLD,
        cache_key=cache_key,
        result_key=live_key,
        cache_expiration=now() + dt.timedelta(days=1),
    )
    expired_key = persist_result("stale value")
    State.objects.create(
        task_run=tasks[0],
        type="COMPLETED",
        name="Completed",
        timestamp=now() - OLD,
        cache_key=cache_key + "-old",
        result_key=expired_key,
        cache_expiration=now() - dt.timedelta(days=1),
    )

    result = prune(older_than=dt.timedelta(days=30))

    assert not FlowRun.objects.filter(id=run.id).exists()
    assert result_exists(live_key)
    assert not result_exists(expired_key)
    assert [c[0] for c in _cache_candidates(cache_key, tasks[0].id)] == [live_key]
    assert result.cache_entries_kept >= 1


def test_detached_cache_entries_go_once_expired():
    key = persist_result("will expire")
    entry = State.objects.create(
        type="COMPLETED",
        name="Completed",
        timestamp=now() - OLD,
        cache_key="prune-expired-entry",
        result_key=key,
        cache_expiration=now() - dt.timedelta(seconds=1),
    )

    prune(older_than=dt.timedelta(days=30))

    assert not State.objects.filter(id=entry.id).exists()
    assert not result_exists(key)


@pytest.mark.parametrize(
    "text, seconds",
    [("30d", 30 * 86400), ("12h", 43200), ("2w", 1209600), ("90m", 5400), ("45s", 45)],
)
def test_parse_age(text, seconds):
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["30", "d", "-1d", "3x", "", "1.5d"])
def test_bad_ages_say_how_to_write_one(text):
    with pytest.raises(PruneError, match="30d"):
        parse_age(text)


def test_prune_if_due_is_off_by_default_then_once_a_day(runs_home):
    (runs_home / "prune.stamp").unlink(missing_ok=True)
    run, _ = old_run(tasks=1)

    with conf.override(RUNS_RETENTION_DAYS=0):
        assert prune_if_due() is None
    assert FlowRun.objects.filter(id=run.id).exists()

    with conf.override(RUNS_RETENTION_DAYS=30):
        first = prune_if_due()
        second = prune_if_due()

    assert first is not None and first.flow_runs >= 1
    assert second is None
    assert not FlowRun.objects.filter(id=run.id).exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_cli_dry_run_then_prune():
    run, _ = old_run(tasks=2)

    dry = _cli("prune", "--older-than", "30d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("Would remove ")
    assert FlowRun.objects.filter(id=run.id).exists()

    done = _cli("prune", "--older-than", "30d")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Removed ")
    assert not FlowRun.objects.filter(id=run.id).exists()


def test_cli_bad_age_is_one_line_and_status_1():
    done = _cli("prune", "--older-than", "soon")

    assert done.returncode == 1
    assert done.stderr.strip().startswith("Error: 'soon' is not an age")
    assert len(done.stderr.strip().splitlines()) == 1


def test_progress_is_reported_after_each_batch():
    for _ in range(3):
        old_run(tasks=1)
    totals = []

    result = prune(
        older_than=dt.timedelta(days=30),
        batch_size=1,
        progress=lambda r: totals.append(r.flow_runs),
    )

    assert len(totals) >= 3 and totals == sorted(totals) and totals[-1] == result.flow_runs


def test_leases_lapsed_before_the_cutoff_go_unless_a_live_run_or_slot_names_them():
    from runs.models import ProcessLease
    from runs_limits.models import ConcurrencyLimit, ConcurrencySlot

    def lease(owner, *, lapsed, key=""):
        return ProcessLease.objects.create(
            owner=owner, started=now() - lapsed, expires=now() - lapsed, process_key=key
        )

    gone = lease(seed.unique("gone"), lapsed=OLD)
    recent = lease(seed.unique("recent"), lapsed=dt.timedelta(hours=1))
    # Still running here (this process's key), so no heartbeat's reaper ends their run or
    # frees their slot before prune looks.
    runs_a_flow = lease(seed.unique("flow"), lapsed=OLD, key=process_key())
    seed.flow_run(state="RUNNING", owner=runs_a_flow.owner)
    holds_a_slot = lease(seed.unique("slot"), lapsed=OLD, key=process_key())
    limit = ConcurrencyLimit.objects.create(tag=seed.unique("tag"), concurrency_limit=1)
    # Unfinished and nobody's: a finished run's slot, or a dead owner's run, would be freed.
    held_by = seed.task_run(seed.flow_run(state="RUNNING"), state="RUNNING")
    ConcurrencySlot.objects.create(
        limit=limit, task_run=held_by, acquired=now(), owner=holds_a_slot.owner
    )

    counted = prune(older_than=dt.timedelta(days=30), dry_run=True)
    assert counted.leases >= 1 and ProcessLease.objects.filter(owner=gone.owner).exists()
    result = prune(older_than=dt.timedelta(days=30))

    left = set(ProcessLease.objects.values_list("owner", flat=True))
    assert gone.owner not in left
    assert {recent.owner, runs_a_flow.owner, holds_a_slot.owner} <= left
    assert result.leases >= 1 and "lapsed process lease" in result.summary()
