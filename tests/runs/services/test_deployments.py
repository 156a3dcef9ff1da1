"""Deployments: what create accepts and refuses (naming the field), lookups, Run now, and the
made-ahead runs a change deletes so the scheduler makes them again."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from runs.exceptions import ObjectNotFound
from runs.models import Deployment, FlowRun
from runs.registry import register_flow
from runs.selectors.deployments import deployment_detail
from runs.services import deployments
from runs.services.deployments import DeploymentError, ScheduleInput
from runs.services.flow_runs import cancel_flow_run
from runs.services.scheduling import schedule_pass
from runs.services.work_queues import create_work_queue

ADD = "tests.runs.deploy_flows:add"
HELLO = "tests.runs.deploy_flows:hello"
HOURLY = ScheduleInput(kind="interval", value="3600")


@pytest.fixture(autouse=True)
def _registered():
    register_flow(ADD)
    register_flow(HELLO)


def unique(prefix: str = "dep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make(flow: str = "deploy-tests-add", **given):
    given.setdefault("name", unique())
    given.setdefault("parameters", {"x": 1})
    return deployments.create_deployment(flow_name=flow, **given)


def made_ahead(deployment) -> list:
    """The runs its schedules made that wait for their time."""
    return [r for r in deployment_detail(deployment.id).upcoming if r.auto_scheduled]


def test_create_stores_checked_values_and_schedules():
    queue = create_work_queue(name=unique("q"))
    deployment = make(
        parameters={"x": "3"},
        work_queue=queue.name,
        tags=["etl", " nightly ", "etl"],
        description="adds",
        catchup="skip",
        schedules=[
            ScheduleInput(kind="cron", value="0 9 * * 1-5", timezone="Europe/Paris"),
            ScheduleInput(kind="interval", value="1h30m", anchor="2026-01-01T00:00:00+00:00"),
        ],
    )

    assert deployment.parameters == {"x": 3}
    assert deployment.work_queue == queue
    assert deployment.tags == ["etl", "nightly"]
    assert deployment.catchup == "skip"
    cron, interval = deployment.schedules.order_by("id")
    assert (cron.kind, cron.value, cron.timezone) == ("cron", "0 9 * * 1-5", "Europe/Paris")
    assert (interval.kind, float(interval.value)) == ("interval", 5400.0)
    assert interval.anchor == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_a_deployment_is_found_by_id_numeric_text_or_flow_slash_name():
    deployment = make()

    assert deployments.get_deployment(deployment.id) == deployment
    assert deployments.get_deployment(str(deployment.id)) == deployment
    assert deployments.get_deployment(f"deploy-tests-add/{deployment.name}") == deployment
    with pytest.raises(ObjectNotFound, match="FLOW/NAME"):
        deployments.get_deployment(f"deploy-tests-hello/{deployment.name}")


def _bad(kind: str, value: str, **extra) -> dict:
    return {"schedules": [ScheduleInput(kind=kind, value=value, **extra)]}


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        (_bad("cron", "61 * * * *"), "schedules[0].cron", "61"),
        (_bad("cron", "not a cron"), "schedules[0].cron", "cron"),
        (_bad("rrule", "FREQ=SOMETIMES"), "schedules[0].rrule", "FREQ"),
        (_bad("interval", "0"), "schedules[0].interval", "more than 0"),
        (_bad("interval", "-1"), "schedules[0].interval", "-1"),
        (_bad("interval", "abc"), "schedules[0].interval", "abc"),
        (_bad("cron", "* * * * *", timezone="Mars/Olympus"), "schedules[0].timezone", "Mars"),
        (_bad("interval", "60", anchor="next tuesday"), "schedules[0].anchor", "ISO 8601"),
        (_bad("weekly", "1"), "schedules[0].kind", "weekly"),
        ({"parameters": {"x": "abc"}}, "parameters", "'x'"),
        ({"parameters": {"x": 1, "z": 2}}, "parameters", "'z'"),
        ({"parameters": ["x"]}, "parameters", "object"),
        ({"work_queue": "no-such-queue"}, "work_queue", "runs work-queue create no-such-queue"),
        ({"name": "  "}, "name", "needs a name"),
        ({"name": "x" * 201}, "name", "200"),
        ({"name": "a/b"}, "name", "'/'"),
        ({"catchup": "sometimes"}, "catchup", "once, all, skip"),
        ({"tags": "etl"}, "tags", "list"),
        ({"tags": ["ok", ""]}, "tags", "non-empty"),
    ],
)
def test_bad_input_is_refused_naming_the_field(given, field, words):
    name = given.pop("name", unique())

    with pytest.raises(DeploymentError) as caught:
        make(name=name, **given)

    assert caught.value.field == field
    assert words in str(caught.value)
    assert not Deployment.objects.filter(name=name).exists()


def test_an_unknown_flow_is_refused_naming_the_flow():
    with pytest.raises(DeploymentError, match="runs deploy MODULE:FLOW") as caught:
        deployments.create_deployment(flow_name=unique("nope"), name=unique())
    assert caught.value.field == "flow"


def test_a_name_is_unique_per_flow_but_not_across_flows():
    first = make()

    with pytest.raises(DeploymentError, match="already has a deployment") as caught:
        make(name=first.name)
    assert caught.value.field == "name"
    assert make(flow="deploy-tests-hello", name=first.name, parameters={}).name == first.name


def test_a_required_parameter_may_be_missing_only_without_schedules():
    without = make(parameters={})
    assert without.parameters == {}

    with pytest.raises(DeploymentError, match="'x'") as caught:
        make(parameters={}, schedules=[HOURLY])
    assert caught.value.field == "parameters"
    with pytest.raises(DeploymentError, match="'x'"):
        deployments.add_schedule(without.id, HOURLY)


def test_run_now_merges_the_defaults_with_the_parameters_given():
    queue = create_work_queue(name=unique("q"), concurrency_limit=0)
    deployment = make(parameters={"x": 2}, work_queue=queue.name, tags=["t1"])

    run = deployments.run_deployment(deployment.id, parameters={"y": 5})

    assert run.parameters == {"x": 2, "y": 5}
    assert run.deployment_id == deployment.id
    assert run.work_queue_id == queue.id
    assert run.tags == ["t1"]
    assert run.state_type == "SCHEDULED"
    assert not run.auto_scheduled


def test_run_now_refuses_parameters_that_do_not_fit():
    deployment = make(parameters={})

    with pytest.raises(DeploymentError, match="'x'") as caught:
        deployments.run_deployment(deployment.id)
    assert caught.value.field == "parameters"
    with pytest.raises(DeploymentError, match="whole number"):
        deployments.run_deployment(deployment.id, parameters={"x": "many"})


def test_run_later_waits_for_its_time():
    deployment = make()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)

    run = deployments.run_deployment(deployment.id, scheduled_time=later)

    assert run.expected_start_time == later
    assert run.dispatched_at is None


# ---- the runs a change makes stale ------------------------------------------------------------
def _with_runs_ahead(**given):
    deployment = make(schedules=[HOURLY], **given)
    schedule_pass()
    assert made_ahead(deployment), "the scheduler made no runs ahead"
    return deployment


def test_a_schedule_change_replaces_the_runs_it_made_ahead():
    deployment = _with_runs_ahead()
    schedule = deployment.schedules.get()
    by_hand = deployments.run_deployment(deployment.id, scheduled_time=_in_a_day())

    deployments.update_schedule(schedule.id, ScheduleInput(kind="interval", value="7200"))

    assert made_ahead(deployment) == []
    schedule_pass()
    times = [r.expected_start_time for r in made_ahead(deployment)]
    assert times and all(b - a == dt.timedelta(hours=2) for a, b in itertools.pairwise(times))
    assert FlowRun.objects.filter(id=by_hand.id).exists()


def _in_a_day() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: deployments.set_schedule_active(d.schedules.get().id, False),
        lambda d: deployments.delete_schedule(d.schedules.get().id),
        lambda d: deployments.pause_deployment(d.id),
        lambda d: deployments.update_deployment(d.id, parameters={"x": 9}),
        lambda d: deployments.update_deployment(d.id, tags=["new"]),
        lambda d: deployments.update_deployment(
            d.id, work_queue=create_work_queue(name=unique("q")).name
        ),
    ],
    ids=["schedule-paused", "schedule-deleted", "deployment-paused", "parameters", "tags", "queue"],
)
def test_a_change_deletes_the_runs_made_ahead_and_keeps_the_others(change):
    deployment = _with_runs_ahead()
    by_hand = deployments.run_deployment(deployment.id, scheduled_time=_in_a_day())

    change(deployment)

    assert made_ahead(deployment) == []
    assert FlowRun.objects.filter(id=by_hand.id).exists()


def test_after_a_parameters_change_the_scheduler_makes_runs_with_the_new_ones():
    deployment = _with_runs_ahead()

    deployments.update_deployment(deployment.id, parameters={"x": 9})
    schedule_pass()

    assert {r.parameters["x"] for r in made_ahead(deployment)} == {9}


def test_a_description_change_keeps_the_runs_made_ahead():
    deployment = _with_runs_ahead()
    before = [r.id for r in made_ahead(deployment)]

    deployments.update_deployment(deployment.id, description="new words", catchup="all")

    assert [r.id for r in made_ahead(deployment)] == before


def test_resume_lets_the_scheduler_make_runs_again():
    deployment = _with_runs_ahead()
    deployments.pause_deployment(deployment.id)
    schedule_pass()
    assert made_ahead(deployment) == []

    deployments.resume_deployment(deployment.id)
    schedule_pass()

    assert made_ahead(deployment)


def test_delete_removes_the_runs_made_ahead_and_keeps_finished_ones():
    deployment = _with_runs_ahead()
    ahead = [r.id for r in made_ahead(deployment)]
    finished = deployments.run_deployment(deployment.id, scheduled_time=_in_a_day())
    cancel_flow_run(flow_run_id=finished.id)

    deployments.delete_deployment(deployment.id)

    assert not FlowRun.objects.filter(id__in=ahead).exists()
    kept = FlowRun.objects.get(id=finished.id)
    assert kept.deployment_id is None
    with pytest.raises(ObjectNotFound):
        deployments.get_deployment(deployment.id)
