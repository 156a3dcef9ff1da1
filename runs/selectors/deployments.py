"""Deployments as the CLI, the API and the dashboard show them: their schedules, next runs and
last run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from runs.exceptions import ObjectNotFound
from runs.models import Deployment, DeploymentSchedule, FlowRun
from runs.schedules import ScheduleSpec, describe
from runs.states import FINAL_TYPES

#: How many of its next runs a deployment's summary shows.
NEXT_RUNS = 3
#: How many upcoming and recent runs a deployment's detail shows.
DETAIL_RUNS = 20

_FINAL = sorted(t.value for t in FINAL_TYPES)


@dataclass
class DeploymentSummary:
    """A deployment, its schedules, its next runs (first ``NEXT_RUNS`` still SCHEDULED, soonest
    first) and its last run (the latest started or finished; None before the first)."""

    deployment: Deployment
    schedules: list[DeploymentSchedule] = field(default_factory=list)
    next_runs: list[FlowRun] = field(default_factory=list)
    last_run: FlowRun | None = None


@dataclass
class DeploymentDetail(DeploymentSummary):
    """A summary with the first ``DETAIL_RUNS`` upcoming runs and the last ``DETAIL_RUNS``
    started or finished ones (newest first)."""

    upcoming: list[FlowRun] = field(default_factory=list)
    recent: list[FlowRun] = field(default_factory=list)


def get_deployment(id_or_full_name: int | str) -> Deployment:
    """The deployment with this id (an int or a numeric string) or this ``flow/name``;
    ObjectNotFound when there is none."""
    queryset = Deployment.objects.select_related("flow", "work_queue")
    key = id_or_full_name
    if isinstance(key, int) and not isinstance(key, bool):
        found = queryset.filter(id=key).first()
    elif isinstance(key, str) and key.strip().isdigit():
        found = queryset.filter(id=int(key.strip())).first()
    elif isinstance(key, str) and "/" in key:
        found = None
        for index, char in enumerate(key):  # a flow's name may hold '/' too
            if char == "/":
                found = queryset.filter(flow__name=key[:index], name=key[index + 1 :]).first()
                if found is not None:
                    break
    else:
        found = None
    if found is None:
        raise ObjectNotFound(
            f"No deployment is {key!r}; name one by its id or as FLOW/NAME "
            "(`runs deployment ls` lists them)."
        )
    return found


def deployments_of_flows(flow_ids: Iterable[int]) -> list[Deployment]:
    """The deployments of these flows, by flow and name (for the Run forms' selects)."""
    return list(
        Deployment.objects.filter(flow_id__in=list(flow_ids))
        .select_related("flow", "work_queue")
        .order_by("flow__name", "name")
    )


def describe_schedule(schedule: DeploymentSchedule) -> str:
    """A schedule as a short sentence ("every 5 minutes", "cron '0 9 * * 1-5' (Europe/Paris)"),
    with "(paused)" when it is not active."""
    spec = ScheduleSpec(
        kind=schedule.kind,
        value=schedule.value,
        timezone=schedule.timezone,
        anchor=schedule.anchor,
    )
    text = describe(spec)
    return text if schedule.active else f"{text} (paused)"


def _upcoming(deployment):
    """Runs of ``deployment`` (an id or an OuterRef) still SCHEDULED, soonest first."""
    return FlowRun.objects.filter(deployment=deployment, state_type="SCHEDULED").order_by(
        F("expected_start_time").asc(nulls_last=True), "created", "id"
    )


def _started_or_final(deployment):
    """Runs of ``deployment`` that started or ended, latest first."""
    return (
        FlowRun.objects.filter(deployment=deployment)
        .filter(Q(start_time__isnull=False) | Q(state_type__in=_FINAL))
        .order_by(Coalesce("start_time", "end_time", "created").desc(), "-created", "-id")
    )


def _runs_by_id(ids: list) -> dict:
    found = {}
    for start in range(0, len(ids), 500):  # within every database's limit of query parameters
        for run in FlowRun.objects.filter(id__in=ids[start : start + 500]).select_related("flow"):
            found[run.id] = run
    return found


def deployment_summaries(*, ids: Iterable[int] | None = None) -> list[DeploymentSummary]:
    """Every deployment (or those of ``ids``) by flow and name, with its schedules, next runs
    and last run; four queries however many deployments there are (each deployment's runs are
    found through the index on its runs' expected start times)."""
    upcoming = _upcoming(OuterRef("pk")).values("id")
    latest = _started_or_final(OuterRef("pk")).values("id")
    queryset = (
        Deployment.objects.select_related("flow", "work_queue")
        .order_by("flow__name", "name")
        .annotate(
            **{f"next_{i}": Subquery(upcoming[i : i + 1]) for i in range(NEXT_RUNS)},
            last_run_id=Subquery(latest[:1]),
        )
    )
    if ids is not None:
        queryset = queryset.filter(id__in=list(ids))
    deployments = list(queryset)
    if not deployments:
        return []
    schedules: dict[int, list[DeploymentSchedule]] = {}
    for schedule in DeploymentSchedule.objects.filter(
        deployment__in=[d.id for d in deployments]
    ).order_by("id"):
        schedules.setdefault(schedule.deployment_id, []).append(schedule)
    next_ids = [[getattr(d, f"next_{i}") for i in range(NEXT_RUNS)] for d in deployments]
    wanted = [i for row in next_ids for i in row if i] + [
        d.last_run_id for d in deployments if d.last_run_id
    ]
    runs = _runs_by_id(wanted)
    return [
        DeploymentSummary(
            deployment=d,
            schedules=schedules.get(d.id, []),
            next_runs=[runs[i] for i in row if i in runs],
            last_run=runs.get(d.last_run_id),
        )
        for d, row in zip(deployments, next_ids, strict=True)
    ]


def deployment_detail(id_or_full_name: int | str) -> DeploymentDetail:
    """One deployment (by id or ``flow/name``) with its upcoming and recent runs;
    ObjectNotFound when there is none."""
    deployment = get_deployment(id_or_full_name)
    upcoming = list(_upcoming(deployment.id).select_related("flow")[:DETAIL_RUNS])
    recent = list(_started_or_final(deployment.id).select_related("flow")[:DETAIL_RUNS])
    return DeploymentDetail(
        deployment=deployment,
        schedules=list(deployment.schedules.order_by("id")),
        next_runs=upcoming[:NEXT_RUNS],
        last_run=recent[0] if recent else None,
        upcoming=upcoming,
        recent=recent,
    )
