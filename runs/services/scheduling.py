"""The scheduler's passes: runs made ahead from deployments' schedules, Late runs, catch-up.

Every figure comes from settings (RUNS_SCHEDULER_*), and time from a ``now`` argument so tests
can drive a clock. Any number of schedulers may run at once: a scheduled time gets one run
whichever makes it (runs.orchestration.scheduled).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import Count, Max

from runs import conf
from runs.models import DeploymentSchedule, FlowRun
from runs.orchestration.scheduled import PlannedRun, create_scheduled_runs, mark_late, skip_runs
from runs.schedules import ScheduleError, ScheduleSpec, next_times
from runs.states import now as utc_now

logger = logging.getLogger("runs.scheduler")

#: Runs inserted per transaction (so the database's write lock is let go between batches).
INSERT_BATCH = 5000
_TINY = dt.timedelta(microseconds=1)
#: Most times read from one window of missed times (catch-up).
_MOST_IN_A_WINDOW = 100_000


@dataclass(frozen=True)
class CatchUp:
    """What :func:`catch_up` did: runs made for missed times, and made-ahead runs skipped."""

    created: int
    skipped: int


@dataclass(frozen=True)
class Made:
    """What a scheduling pass made: runs, and the deployments they are for (None: not known,
    when another scheduler made some of the same times at once)."""

    runs: int
    deployments: int | None


def schedule_pass(
    now: dt.datetime | None = None, *, deployment_ids: Iterable[int] | None = None
) -> int:
    """The number of runs :func:`make_runs_ahead` made."""
    return make_runs_ahead(now, deployment_ids=deployment_ids).runs


def make_runs_ahead(
    now: dt.datetime | None = None, *, deployment_ids: Iterable[int] | None = None
) -> Made:
    """Make the runs every active schedule of every deployment not paused asks for, ahead of
    time; how many, for how many deployments.

    A schedule gets its times after ``now`` (and after the latest one it already has) until it
    has RUNS_SCHEDULER_MAX_RUNS runs ahead or reaches RUNS_SCHEDULER_HORIZON_SECONDS from now,
    and at least RUNS_SCHEDULER_MIN_RUNS runs ahead however far off they are.
    ``deployment_ids`` limits the pass to those deployments (e.g. one just made).
    """
    now = now or utc_now()
    settings = conf.settings
    most, fewest = settings.RUNS_SCHEDULER_MAX_RUNS, settings.RUNS_SCHEDULER_MIN_RUNS
    fewest = min(fewest, most)
    horizon = now + dt.timedelta(seconds=settings.RUNS_SCHEDULER_HORIZON_SECONDS)
    deployment_ids = None if deployment_ids is None else list(deployment_ids)
    schedules = _active_schedules(deployment_ids)
    if not schedules:
        return Made(0, 0)
    ahead = {
        row["schedule_id"]: (row["count"], row["latest"])
        for row in _limited(
            FlowRun.objects.filter(
                auto_scheduled=True,
                schedule__active=True,
                deployment__paused=False,
                expected_start_time__gt=now,
            ),
            deployment_ids,
        )
        .values("schedule_id")
        .annotate(count=Count("id"), latest=Max("expected_start_time"))
        .order_by()
    }
    planned: list[PlannedRun] = []
    namer = _Namer()
    for row in schedules:
        count, latest = ahead.get(row["id"], (0, None))
        room = most - count
        if room <= 0:
            continue
        start = latest if latest is not None else now - _TINY
        try:
            spec = _spec(row)
            times = next_times(spec, after=start, until=horizon, limit=room)
            if count + len(times) < fewest:
                times = next_times(spec, after=start, until=None, limit=fewest - count)
        except (ScheduleError, ValueError, OverflowError) as exc:
            logger.warning(
                "Schedule %s of deployment %s is skipped: %s", row["id"], _label(row), exc
            )
            continue
        planned.extend(_planned(row, times, namer))
    created = _create(planned)
    deployments = len({run.deployment_id for run in planned})
    return Made(created, deployments if created == len(planned) else None)


def mark_late_runs(
    now: dt.datetime | None = None, *, deployment_ids: Iterable[int] | None = None
) -> int:
    """Runs still waiting RUNS_SCHEDULER_LATE_AFTER_SECONDS after their time become "Late"
    (those of ``deployment_ids`` only, when given); the number marked."""
    now = now or utc_now()
    grace = dt.timedelta(seconds=conf.settings.RUNS_SCHEDULER_LATE_AFTER_SECONDS)
    return mark_late(now - grace, now=now, deployment_ids=deployment_ids)


def apply_catchup(
    now: dt.datetime | None = None, *, deployment_ids: Iterable[int] | None = None
) -> int:
    """:func:`catch_up`, returning the number of runs made."""
    return catch_up(now, deployment_ids=deployment_ids).created


def catch_up(
    now: dt.datetime | None = None, *, deployment_ids: Iterable[int] | None = None
) -> CatchUp:
    """Deal with the times deployments missed while no scheduler ran (a scheduler's first pass).

    Missed: the runs made ahead that never started, whose time is older than the grace period
    (RUNS_SCHEDULER_LATE_AFTER_SECONDS) and that no scheduler marked Late (a Late run waited in
    its queue while a scheduler ran: it was not missed, and is left waiting); and the times a
    deployment has no run for between its latest run and now. Each deployment's ``catchup``
    says what becomes of them:
    "all" makes a run for every missed time (at most RUNS_SCHEDULER_MAX_RUNS per schedule, the
    latest ones); "once" keeps or makes one run, for the latest missed time, and skips the
    others; "skip" makes none and skips the made-ahead ones. Skipped runs become CANCELLED
    "Skipped" with a message saying why. Times within the grace period are made in every case.
    """
    now = now or utc_now()
    settings = conf.settings
    most = settings.RUNS_SCHEDULER_MAX_RUNS
    cutoff = now - dt.timedelta(seconds=settings.RUNS_SCHEDULER_LATE_AFTER_SECONDS)
    deployment_ids = None if deployment_ids is None else list(deployment_ids)
    schedules = _active_schedules(deployment_ids)
    if not schedules:
        return CatchUp(0, 0)
    latest_run = dict(
        _limited(
            FlowRun.objects.filter(
                auto_scheduled=True, deployment__paused=False, expected_start_time__lte=now
            ),
            deployment_ids,
        )
        .values("deployment_id")
        .annotate(latest=Max("expected_start_time"))
        .order_by()
        .values_list("deployment_id", "latest")
    )
    waiting: dict[int, list[tuple[Any, dt.datetime]]] = {}
    for run_id, deployment_id, time in _limited(
        FlowRun.objects.filter(
            auto_scheduled=True,
            deployment__paused=False,
            state_type="SCHEDULED",
            state_name="Scheduled",
            dispatched_at__isnull=True,
            start_time__isnull=True,
            expected_start_time__lt=cutoff,
        ),
        deployment_ids,
    ).values_list("id", "deployment_id", "expected_start_time"):
        waiting.setdefault(deployment_id, []).append((run_id, time))

    by_deployment: dict[int, list[dict[str, Any]]] = {}
    for row in schedules:
        by_deployment.setdefault(row["deployment_id"], []).append(row)
    planned: list[PlannedRun] = []
    to_skip: dict[str, list[Any]] = {}
    namer = _Namer()
    for deployment_id, rows in by_deployment.items():
        policy = rows[0]["deployment__catchup"]
        latest = latest_run.get(deployment_id)
        missing: list[tuple[dt.datetime, dict[str, Any]]] = []  # (time, schedule row)
        if latest is not None:  # a deployment that never ran has missed nothing
            for row in rows:
                try:
                    times = _latest_times(_spec(row), after=latest, until=now, count=most)
                except (ScheduleError, ValueError, OverflowError) as exc:
                    logger.warning("Schedule %s of %s is skipped: %s", row["id"], _label(row), exc)
                    continue
                missing.extend((t, row) for t in times)
        recent = [(t, row) for t, row in missing if t >= cutoff]
        missed = [(t, row) for t, row in missing if t < cutoff]
        made_ahead = sorted(waiting.get(deployment_id, []), key=lambda item: item[1])
        keep: list[tuple[dt.datetime, dict[str, Any]]] = []
        skip: list[Any] = []
        if policy == "all":
            for row in rows:
                own = [(t, r) for t, r in missed if r is row]
                keep.extend(own[-most:])
        elif policy == "once":
            latest_missing = max(missed, key=lambda item: item[0], default=None)
            latest_waiting = made_ahead[-1] if made_ahead else None
            if latest_missing and (not latest_waiting or latest_missing[0] > latest_waiting[1]):
                keep.append(latest_missing)
                skip = [run_id for run_id, _ in made_ahead]
            else:
                skip = [run_id for run_id, _ in made_ahead[:-1]]
        else:  # skip
            skip = [run_id for run_id, _ in made_ahead]
        for row in rows:
            times = sorted({t for t, r in keep + recent if r is row})
            planned.extend(_planned(row, times, namer))
        if skip:
            to_skip.setdefault(_skip_message(rows[0], policy), []).extend(skip)
    created = _create(planned)
    skipped = sum(skip_runs(ids, message, now=now) for message, ids in to_skip.items())
    if created or skipped:
        logger.info("Catch-up: made %d runs for missed times, skipped %d.", created, skipped)
    return CatchUp(created, skipped)


# ---- helpers --------------------------------------------------------------------------------


def _limited(queryset, deployment_ids: Iterable[int] | None):
    """``queryset`` cut to the rows of ``deployment_ids`` (None: all)."""
    if deployment_ids is None:
        return queryset
    return queryset.filter(deployment_id__in=list(deployment_ids))


def _active_schedules(deployment_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    rows = _limited(
        DeploymentSchedule.objects.filter(active=True, deployment__paused=False), deployment_ids
    )
    return list(
        rows.order_by("deployment_id", "id").values(
            "id",
            "kind",
            "value",
            "timezone",
            "anchor",
            "deployment_id",
            "deployment__name",
            "deployment__catchup",
            "deployment__parameters",
            "deployment__tags",
            "deployment__work_queue_id",
            "deployment__flow_id",
            "deployment__flow__name",
        )
    )


def _latest_times(
    spec: ScheduleSpec, *, after: dt.datetime, until: dt.datetime, count: int
) -> list[dt.datetime]:
    """The last ``count`` times of ``spec`` in (after, until]: looked for in a window before
    ``until`` that doubles until it holds them, so a long gap costs no more than a short one."""
    span = dt.timedelta(hours=1)
    while True:
        start = max(after, until - span)
        times = next_times(spec, after=start, until=until, limit=_MOST_IN_A_WINDOW)
        if len(times) >= count or start == after or len(times) >= _MOST_IN_A_WINDOW:
            return times[-count:] if count else []
        span *= 2


def _spec(row: dict[str, Any]) -> ScheduleSpec:
    return _cached_spec(row["kind"], row["value"], row["timezone"] or "UTC", row["anchor"])


@lru_cache(maxsize=4096)
def _cached_spec(kind: str, value: str, timezone: str, anchor: dt.datetime | None) -> ScheduleSpec:
    from runs.schedules import parse_schedule

    return parse_schedule(kind, value, timezone=timezone, anchor=anchor)


def _label(row: dict[str, Any]) -> str:
    return f"{row['deployment__flow__name']}/{row['deployment__name']}"


def _skip_message(row: dict[str, Any], policy: str) -> str:
    why = {
        "once": "only the latest missed time runs",
        "skip": "missed times do not run",
    }.get(policy, "missed times do not run")
    return (
        f"Skipped: its time passed while no scheduler ran, and deployment {_label(row)!r} "
        f"catches up {policy!r} ({why}). Set the deployment's catchup to 'all' to run every "
        "missed time."
    )


class _Namer:
    """Names of new runs: the flow's ``flow_run_name`` filled in, or "" for a random name.

    A flow is loaded once per pass; a flow that cannot be loaded or named gets random names.
    """

    def __init__(self) -> None:
        self._flows: dict[str, Any] = {}

    def __call__(self, flow_name: str, parameters: dict[str, Any]) -> str:
        if flow_name not in self._flows:
            try:
                from runs.registry import load_flow

                flow = load_flow(flow_name)
                self._flows[flow_name] = flow if flow.flow_run_name is not None else None
            except Exception:
                self._flows[flow_name] = None
        flow = self._flows[flow_name]
        if flow is None:
            return ""
        try:
            from runs.parameters import coerce_parameters
            from runs.services.flow_runs import run_name_for

            return run_name_for(flow, coerce_parameters(flow.fn, dict(parameters)))
        except Exception:
            return ""


def _planned(row: dict[str, Any], times: list[dt.datetime], namer: _Namer) -> list[PlannedRun]:
    parameters = row["deployment__parameters"] or {}
    tags = list(row["deployment__tags"] or [])
    return [
        PlannedRun(
            deployment_id=row["deployment_id"],
            schedule_id=row["id"],
            work_queue_id=row["deployment__work_queue_id"],
            flow_id=row["deployment__flow_id"],
            time=time,
            parameters=parameters,
            tags=tags,
            name=namer(row["deployment__flow__name"], parameters),
        )
        for time in times
    ]


def _create(planned: list[PlannedRun]) -> int:
    created = 0
    for start in range(0, len(planned), INSERT_BATCH):
        created += create_scheduled_runs(planned[start : start + INSERT_BATCH])
    return created
