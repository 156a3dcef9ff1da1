"""Deployments as the pages and the CLI read them: schedules, next runs soonest first, the last
run started or finished."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from runs.exceptions import ObjectNotFound
from runs.registry import register_flow
from runs.selectors.deployments import (
    DETAIL_RUNS,
    NEXT_RUNS,
    deployment_detail,
    deployment_summaries,
    describe_schedule,
)
from runs.services import deployments
from runs.services.deployments import ScheduleInput
from runs.services.flow_runs import cancel_flow_run
from runs.services.scheduling import schedule_pass
from runs.services.work_queues import create_work_queue


@pytest.fixture(autouse=True)
def _registered():
    register_flow("tests.runs.deploy_flows:add")


def make(**given):
    # a queue that starts nothing, so runs by hand stay SCHEDULED
    queue = create_work_queue(name=f"q-{uuid.uuid4().hex[:10]}", concurrency_limit=0)
    return deployments.create_deployment(
        flow_name="deploy-tests-add",
        name=f"dep-{uuid.uuid4().hex[:10]}",
        parameters={"x": 1},
        work_queue=queue.name,
        **given,
    )


def _at(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)


def _summary(deployment):
    (found,) = deployment_summaries(ids=[deployment.id])
    return found


def test_a_new_deployment_has_no_next_or_last_run():
    deployment = make()

    summary = _summary(deployment)

    assert summary.deployment == deployment
    assert summary.schedules == []
    assert summary.next_runs == []
    assert summary.last_run is None


def test_next_runs_are_the_first_scheduled_soonest_first():
    deployment = make()
    runs = {
        h: deployments.run_deployment(deployment.id, scheduled_time=_at(h)) for h in (5, 1, 3, 2, 4)
    }

    summary = _summary(deployment)

    assert [r.id for r in summary.next_runs] == [runs[h].id for h in (1, 2, 3)][:NEXT_RUNS]


def test_the_last_run_is_the_latest_finished_one():
    deployment = make()
    first = deployments.run_deployment(deployment.id, scheduled_time=_at(1))
    second = deployments.run_deployment(deployment.id, scheduled_time=_at(2))
    cancel_flow_run(flow_run_id=first.id)
    cancel_flow_run(flow_run_id=second.id)
    waiting = deployments.run_deployment(deployment.id, scheduled_time=_at(3))

    summary = _summary(deployment)

    assert summary.last_run.id == second.id
    assert [r.id for r in summary.next_runs] == [waiting.id]


def test_summaries_list_every_deployment_with_its_schedules():
    one = make(schedules=[ScheduleInput(kind="interval", value="3600")])
    two = make()

    by_id = {s.deployment.id: s for s in deployment_summaries()}

    assert [s.kind for s in by_id[one.id].schedules] == ["interval"]
    assert by_id[two.id].schedules == []


def test_detail_lists_upcoming_and_recent_runs():
    deployment = make(schedules=[ScheduleInput(kind="interval", value="60")])
    schedule_pass()
    finished = deployments.run_deployment(deployment.id)
    cancel_flow_run(flow_run_id=finished.id)

    detail = deployment_detail(f"deploy-tests-add/{deployment.name}")

    assert len(detail.upcoming) == DETAIL_RUNS
    times = [r.expected_start_time for r in detail.upcoming]
    assert times == sorted(times)
    assert detail.next_runs == detail.upcoming[:NEXT_RUNS]
    assert [r.id for r in detail.recent] == [finished.id]
    assert detail.last_run.id == finished.id


def test_detail_of_an_unknown_deployment_is_not_found():
    with pytest.raises(ObjectNotFound):
        deployment_detail("no-such-flow/no-such-deployment")


def test_a_schedule_is_described_in_words_and_says_when_paused():
    deployment = make(
        schedules=[
            ScheduleInput(kind="interval", value="300"),
            ScheduleInput(kind="cron", value="0 9 * * 1-5", timezone="Europe/Paris"),
        ]
    )
    interval, cron = deployment.schedules.order_by("id")
    deployments.set_schedule_active(cron.id, False)
    cron.refresh_from_db()

    assert describe_schedule(interval) == "every 5 minutes"
    assert describe_schedule(cron) == "cron '0 9 * * 1-5' (Europe/Paris) (paused)"
