"""The scheduler's passes with an injected clock: each scheduled time gets one run, however many
passes and schedulers; runs ahead stay within their bounds; Late after the grace period; and
catch-up once / all / skip after a scheduler was down.

Times are far in the future so no worker of another test ever finds these runs due, every
deployment has its own work queue, and every pass is limited to the test's deployments.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from runs import conf
from runs.models import FlowRun, RunTag, State
from runs.services.deployments import ScheduleInput, create_deployment
from runs.services.scheduling import apply_catchup, catch_up, mark_late_runs, schedule_pass
from runs.services.work_queues import create_work_queue

T0 = dt.datetime(2100, 1, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def flow_name():
    from runs.registry import register_flow

    return register_flow("runs.demo_flows:demo_caching").name


@pytest.fixture
def small():
    """Bounds small enough to count by hand: at most 100 runs, at least 3, an hour ahead."""
    with conf.override(
        RUNS_SCHEDULER_MAX_RUNS=100,
        RUNS_SCHEDULER_MIN_RUNS=3,
        RUNS_SCHEDULER_HORIZON_SECONDS=3600.0,
        RUNS_SCHEDULER_LATE_AFTER_SECONDS=15.0,
    ) as settings:
        yield settings


def _deployment(flow_name, *schedules, **options):
    queue = create_work_queue(name=f"sched-{uuid.uuid4().hex[:10]}")
    return create_deployment(
        flow_name=flow_name,
        name=f"d-{uuid.uuid4().hex[:10]}",
        work_queue=queue.name,
        schedules=schedules,
        **options,
    )


def _runs(deployment):
    return FlowRun.objects.filter(deployment=deployment).order_by("expected_start_time")


def _times(deployment, **filters):
    return list(_runs(deployment).filter(**filters).values_list("expected_start_time", flat=True))


def test_a_pass_makes_each_time_once_and_a_second_pass_nothing(flow_name, small):
    deployment = _deployment(
        flow_name,
        ScheduleInput("cron", "* * * * *"),
        parameters={"x": 3},
        tags=["nightly", "etl"],
    )
    # the times from now (included) to an hour ahead
    assert schedule_pass(T0, deployment_ids=[deployment.id]) == 61
    assert schedule_pass(T0, deployment_ids=[deployment.id]) == 0
    assert _times(deployment) == [T0 + dt.timedelta(minutes=m) for m in range(61)]

    run = _runs(deployment).select_related("work_queue", "schedule").first()
    assert (run.state_type, run.state_name) == ("SCHEDULED", "Scheduled")
    assert run.auto_scheduled and run.dispatched_at is None and run.start_time is None
    assert run.work_queue == deployment.work_queue
    assert run.schedule == deployment.schedules.get()
    assert run.flow_id == deployment.flow_id
    assert run.parameters == {"x": 3} and run.tags == ["nightly", "etl"]
    assert run.name  # a random name, as a run started by hand
    states = list(State.objects.filter(flow_run=run))
    assert [(s.type, s.name, s.scheduled_time) for s in states] == [
        ("SCHEDULED", "Scheduled", run.expected_start_time)
    ]
    assert sorted(RunTag.objects.filter(flow_run=run).values_list("tag", flat=True)) == [
        "etl",
        "nightly",
    ]


def test_later_passes_add_only_the_new_times(flow_name, small):
    deployment = _deployment(flow_name, ScheduleInput("cron", "* * * * *"))
    schedule_pass(T0, deployment_ids=[deployment.id])
    assert schedule_pass(T0 + dt.timedelta(minutes=10), deployment_ids=[deployment.id]) == 10
    times = _times(deployment)
    assert times == [T0 + dt.timedelta(minutes=m) for m in range(71)]


def test_at_least_min_runs_however_far_and_at_most_max_runs(flow_name, small):
    daily = _deployment(flow_name, ScheduleInput("cron", "0 9 * * *"))
    every_second = _deployment(flow_name, ScheduleInput("interval", "1"))
    assert schedule_pass(T0, deployment_ids=[daily.id, every_second.id]) == 3 + 100
    assert len(_times(daily)) == 3  # beyond the one-hour horizon, but never fewer than 3
    assert len(_times(every_second)) == 100  # an hour would be 3,600


def test_runs_are_named_by_the_flows_flow_run_name(small):
    from runs.registry import register_flow

    flow = register_flow("tests.runs.test_parameter_validation:typed")  # "typed-{mode}-{n}"
    deployment = _deployment(flow.name, ScheduleInput("interval", "3600"), parameters={"n": 7})
    schedule_pass(T0, deployment_ids=[deployment.id])
    assert set(_runs(deployment).values_list("name", flat=True)) == {"typed-fast-7"}


def test_paused_deployments_and_inactive_schedules_get_no_runs(flow_name, small):
    paused = _deployment(flow_name, ScheduleInput("interval", "60"), paused=True)
    inactive = _deployment(flow_name, ScheduleInput("interval", "60", active=False))
    assert schedule_pass(T0, deployment_ids=[paused.id, inactive.id]) == 0
    assert not _runs(paused).exists() and not _runs(inactive).exists()


def test_two_schedules_of_a_deployment_share_a_time_with_one_run(flow_name, small):
    deployment = _deployment(
        flow_name, ScheduleInput("interval", "600"), ScheduleInput("cron", "*/20 * * * *")
    )
    schedule_pass(T0, deployment_ids=[deployment.id])
    times = _times(deployment)
    assert len(times) == len(set(times))
    assert T0 + dt.timedelta(minutes=20) in times and T0 + dt.timedelta(minutes=10) in times


def test_a_schedule_that_cannot_be_read_is_skipped_and_the_others_go_on(flow_name, small):
    from runs.models import DeploymentSchedule

    broken = _deployment(flow_name, ScheduleInput("interval", "60"))
    DeploymentSchedule.objects.filter(deployment=broken).update(timezone="Nowhere/Never")
    good = _deployment(flow_name, ScheduleInput("interval", "600"))
    assert schedule_pass(T0, deployment_ids=[broken.id, good.id]) == 7  # every 10 min, an hour
    assert not _runs(broken).exists()


def test_two_schedulers_at_once_make_every_time_exactly_once(flow_name):
    deployment = _deployment(flow_name, ScheduleInput("interval", "1", anchor=T0))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def scheduler():
        from django.db import connection

        try:
            start.wait()
            for second in range(11):  # ten simulated seconds, a pass each second
                schedule_pass(T0 + dt.timedelta(seconds=second), deployment_ids=[deployment.id])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    with conf.override(
        RUNS_SCHEDULER_MAX_RUNS=5, RUNS_SCHEDULER_MIN_RUNS=3, RUNS_SCHEDULER_HORIZON_SECONDS=3.0
    ):
        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    times = _times(deployment)
    assert times == [T0 + dt.timedelta(seconds=s) for s in range(len(times))]
    assert times[-1] >= T0 + dt.timedelta(seconds=13)
    assert State.objects.filter(flow_run__deployment=deployment).count() == len(times)


def test_runs_still_waiting_after_the_grace_period_become_late(flow_name, small):
    deployment = _deployment(flow_name, ScheduleInput("interval", "10", anchor=T0))
    schedule_pass(T0, deployment_ids=[deployment.id])
    # at T0+40 s with 15 s of grace: the runs of T0 to T0+20 are late, T0+30 not yet
    assert mark_late_runs(T0 + dt.timedelta(seconds=40), deployment_ids=[deployment.id]) == 3
    assert _times(deployment, state_name="Late") == [
        T0,
        T0 + dt.timedelta(seconds=10),
        T0 + dt.timedelta(seconds=20),
    ]
    late = _runs(deployment).filter(state_name="Late").first()
    assert late.state_type == "SCHEDULED"
    assert list(State.objects.filter(flow_run=late).values_list("name", flat=True)) == [
        "Scheduled",
        "Late",
    ]
    # marked once only
    assert mark_late_runs(T0 + dt.timedelta(seconds=41), deployment_ids=[deployment.id]) == 0


def test_a_run_already_sent_to_a_worker_is_not_marked_late(flow_name, small):
    deployment = _deployment(flow_name, ScheduleInput("interval", "10", anchor=T0))
    schedule_pass(T0, deployment_ids=[deployment.id])
    # as the queue's dispatch marks the runs it sends (their time is far off for a real one)
    _runs(deployment).filter(expected_start_time__lte=T0 + dt.timedelta(seconds=10)).update(
        dispatched_at=T0 + dt.timedelta(seconds=10)
    )
    assert mark_late_runs(T0 + dt.timedelta(seconds=30), deployment_ids=[deployment.id]) == 0


# ---- catch-up -------------------------------------------------------------------------------


def _down_for_an_hour(flow_name, catchup):
    """A deployment every minute whose scheduler made 5 runs ahead at T0 (T0 to T0+4 min),
    then stopped; the clock a restarted scheduler sees (an hour and a half minute later)."""
    deployment = _deployment(flow_name, ScheduleInput("interval", "60", anchor=T0), catchup=catchup)
    with conf.override(RUNS_SCHEDULER_MAX_RUNS=5, RUNS_SCHEDULER_HORIZON_SECONDS=300.0):
        assert schedule_pass(T0, deployment_ids=[deployment.id]) == 5
    return deployment, T0 + dt.timedelta(seconds=3630)


def test_catchup_once_runs_the_latest_missed_time_and_skips_the_others(flow_name, small):
    deployment, restart = _down_for_an_hour(flow_name, "once")
    with conf.override(RUNS_SCHEDULER_MAX_RUNS=5):
        result = catch_up(restart, deployment_ids=[deployment.id])
    assert (result.created, result.skipped) == (1, 5)
    assert _times(deployment, state_type="SCHEDULED") == [T0 + dt.timedelta(seconds=3600)]
    skipped = _runs(deployment).filter(state_name="Skipped")
    assert skipped.count() == 5
    assert {r.state_type for r in skipped} == {"CANCELLED"}
    assert "catches up 'once'" in skipped.first().state_message


def test_catchup_all_runs_every_missed_time_up_to_the_most_runs(flow_name, small):
    deployment, restart = _down_for_an_hour(flow_name, "all")
    with conf.override(RUNS_SCHEDULER_MAX_RUNS=5):
        assert apply_catchup(restart, deployment_ids=[deployment.id]) == 5
    waiting = _times(deployment, state_type="SCHEDULED")
    # the 5 made ahead before the stop, and the latest 5 of the 55 missed since
    assert waiting == [T0 + dt.timedelta(minutes=m) for m in (0, 1, 2, 3, 4, 56, 57, 58, 59, 60)]
    assert not _runs(deployment).filter(state_name="Skipped").exists()


def test_catchup_skip_runs_nothing_missed(flow_name, small):
    deployment, restart = _down_for_an_hour(flow_name, "skip")
    result = catch_up(restart, deployment_ids=[deployment.id])
    assert (result.created, result.skipped) == (0, 5)
    assert not _runs(deployment).filter(state_type="SCHEDULED").exists()
    # then the normal pass plans from now on
    schedule_pass(restart, deployment_ids=[deployment.id])
    assert _times(deployment, state_type="SCHEDULED")[0] == T0 + dt.timedelta(minutes=61)


def test_catchup_once_keeps_a_made_ahead_run_when_it_is_the_latest_missed(flow_name, small):
    deployment = _deployment(flow_name, ScheduleInput("interval", "60", anchor=T0), catchup="once")
    schedule_pass(T0, deployment_ids=[deployment.id])  # an hour ahead: 61 runs
    restart = T0 + dt.timedelta(minutes=10, seconds=30)
    result = catch_up(restart, deployment_ids=[deployment.id])
    assert (result.created, result.skipped) == (0, 10)  # 10:00..10:09 skipped, 10:10 kept
    assert _times(deployment, state_type="SCHEDULED")[0] == T0 + dt.timedelta(minutes=10)


def test_catchup_leaves_runs_marked_late_while_a_scheduler_ran_waiting(flow_name, small):
    # Late: they waited in their queue while a scheduler ran, they were not missed
    deployment = _deployment(flow_name, ScheduleInput("interval", "60", anchor=T0), catchup="skip")
    schedule_pass(T0, deployment_ids=[deployment.id])
    assert mark_late_runs(T0 + dt.timedelta(minutes=3), deployment_ids=[deployment.id]) == 3
    result = catch_up(T0 + dt.timedelta(minutes=5, seconds=30), deployment_ids=[deployment.id])
    assert result.skipped == 3  # 10:03 to 10:05, never seen Late: missed
    assert _times(deployment, state_name="Late") == [T0 + dt.timedelta(minutes=m) for m in range(3)]


def test_catchup_leaves_a_deployment_that_never_ran_alone(flow_name, small):
    deployment = _deployment(flow_name, ScheduleInput("interval", "60"), catchup="all")
    assert catch_up(T0, deployment_ids=[deployment.id]).created == 0
    assert not _runs(deployment).exists()


# ---- on a real worker ---------------------------------------------------------------------


def test_scheduled_runs_and_late_ones_run_on_a_worker_once_their_time_comes(flow_name, tmp_path):
    import time

    from runs.services.dispatch import dispatch
    from tests.workers import start_worker

    deployment = _deployment(flow_name, ScheduleInput("interval", "0.2"), parameters={"x": 5})
    queue = deployment.work_queue
    with conf.override(
        RUNS_SCHEDULER_MAX_RUNS=3,
        RUNS_SCHEDULER_MIN_RUNS=3,
        RUNS_SCHEDULER_LATE_AFTER_SECONDS=0.0,
    ):
        assert schedule_pass(deployment_ids=[deployment.id]) == 3
        worker = start_worker(tmp_path, queue=queue.name, concurrency=1)
        try:
            time.sleep(0.6)  # every time has passed: the runs are due, and late
            assert mark_late_runs(deployment_ids=[deployment.id]) == 3
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                dispatch(queue.id)
                states = set(_runs(deployment).values_list("state_type", flat=True))
                if states == {"COMPLETED"}:
                    break
                time.sleep(0.1)
        finally:
            worker.stop()
    runs = list(_runs(deployment))
    assert [r.state_type for r in runs] == ["COMPLETED"] * 3, worker.log()
    names = [
        list(State.objects.filter(flow_run=r).values_list("name", flat=True))[:2] for r in runs
    ]
    assert names == [["Scheduled", "Late"]] * 3
