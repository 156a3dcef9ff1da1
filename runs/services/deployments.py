"""Deployments: a registered flow with a name, default parameters, a work queue, tags and
schedules; and the runs they start by hand.

The scheduler (runs.services.scheduling) makes a deployment's runs ahead of time from its
schedules. Any change to what those runs would be (a schedule changed, paused or deleted, the
deployment paused or deleted, its parameters, queue or tags changed) deletes the runs its
schedules made that have not started, so the scheduler makes them again from the new
definition.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from runs.exceptions import ObjectNotFound
from runs.models import Deployment, DeploymentSchedule, FlowRun
from runs.parameters import ParameterError, coerce_parameters, jsonable_parameters
from runs.registry import RegistrationError, UnknownFlow, get_registered_flow, load_flow
from runs.schedules import ScheduleError, ScheduleSpec, parse_schedule
from runs.selectors.deployments import get_deployment
from runs.services.work_queues import DEFAULT_WORK_QUEUE, get_work_queue

#: What a keyword left out means in the update functions: no change.
UNSET: Any = object()

__all__ = [
    "DeploymentError",
    "ScheduleInput",
    "UNSET",
    "add_schedule",
    "create_deployment",
    "delete_deployment",
    "delete_schedule",
    "get_deployment",
    "pause_deployment",
    "resume_deployment",
    "run_deployment",
    "set_schedule_active",
    "update_deployment",
    "update_schedule",
]

CATCHUP_CHOICES = ("once", "all", "skip")
NAME_MAX_LENGTH = 200


class DeploymentError(ValueError):
    """A deployment cannot be made or changed as asked; ``field`` names the field at fault
    (``name``, ``flow``, ``parameters``, ``work_queue``, ``tags``, ``catchup``, ``description``,
    ``schedules[0].cron``...)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ScheduleInput:
    """One schedule as given: its kind (cron, interval, rrule), its value (the cron expression,
    the interval, the RRule text), the time zone its times are read in, an interval's anchor."""

    kind: str
    value: str
    timezone: str = "UTC"
    anchor: dt.datetime | str | None = None
    active: bool = True


# ---- checks ---------------------------------------------------------------------------------
def _checked_name(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        raise DeploymentError("The deployment needs a name, e.g. nightly.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DeploymentError(
            f"A deployment's name is at most {NAME_MAX_LENGTH} characters; this one has "
            f"{len(name)}.",
            field="name",
        )
    if "\x00" in name or "/" in name:
        raise DeploymentError(
            f"A deployment's name cannot hold '/' or a NUL character; {name!r} does.",
            field="name",
        )
    return name


def _checked_flow(flow_name: str):
    try:
        return get_registered_flow(flow_name)
    except UnknownFlow as exc:
        raise DeploymentError(str(exc), field="flow") from None


def _checked_queue(name: Any):
    if name is None or name == "":
        name = DEFAULT_WORK_QUEUE
    if not isinstance(name, str):
        raise DeploymentError("The work queue must be named by text.", field="work_queue")
    try:
        return get_work_queue(name.strip())
    except ObjectNotFound as exc:
        raise DeploymentError(str(exc), field="work_queue") from None


def _checked_tags(tags: Any) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, list | tuple):
        raise DeploymentError('Tags must be a list of text, e.g. ["etl"].', field="tags")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or "\x00" in tag:
            raise DeploymentError(
                f"Every tag must be non-empty text; {tag!r} is not.", field="tags"
            )
        if tag.strip() not in out:
            out.append(tag.strip())
    return out


def _checked_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise DeploymentError(f"The {field} must be text without NUL characters.", field=field)
    return value


def _checked_catchup(catchup: Any) -> str:
    if catchup not in CATCHUP_CHOICES:
        raise DeploymentError(
            f"Catch-up must be one of {', '.join(CATCHUP_CHOICES)} (what the scheduler does with "
            f"times it missed); {catchup!r} is not.",
            field="catchup",
        )
    return catchup


def _checked_parameters(flow_name: str, parameters: Any, *, complete: bool) -> dict[str, Any]:
    """``parameters`` checked and coerced against the flow's signature, as JSON values.

    A required parameter may be left out (a run started by hand must then give it), unless
    ``complete``: a deployment with schedules starts runs with its defaults alone.
    """
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise DeploymentError("Parameters must be an object of name -> value.", field="parameters")
    try:
        fn = load_flow(flow_name).fn
    except RegistrationError as exc:
        raise DeploymentError(f"Flow {flow_name!r} cannot be loaded: {exc}", field="flow") from None
    signature = inspect.signature(fn)
    missing = [
        name
        for name, param in signature.parameters.items()
        if param.default is param.empty
        and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        and name not in parameters
    ]
    if missing and complete:
        names = ", ".join(repr(n) for n in missing)
        raise DeploymentError(
            f"Flow {flow_name!r} requires {names} with no default, and a schedule starts runs "
            "with the deployment's parameters alone: give each a value in the deployment's "
            "parameters.",
            field="parameters",
        )
    # the parameters left out are checked when a run gives them: treat them as defaulted here
    checked = functools.partial(fn, **{name: None for name in missing}) if missing else fn
    try:
        values = coerce_parameters(checked, parameters)
    except ParameterError as exc:
        detail = "; ".join(f"parameter {name!r}: {message}" for name, message in exc.errors.items())
        raise DeploymentError(
            f"The parameters do not fit flow {flow_name!r}: {detail}.", field="parameters"
        ) from None
    return jsonable_parameters(values)


def _checked_anchor(anchor: Any, field: str) -> dt.datetime | None:
    if anchor is None or isinstance(anchor, dt.datetime):
        return anchor
    text = anchor.strip() if isinstance(anchor, str) else None
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise DeploymentError(
            f"The anchor must be an ISO 8601 date and time, such as 2026-01-01T09:00:00 "
            f"(a time zone offset is optional); {anchor!r} is not.",
            field=field,
        ) from None


def _checked_schedule(schedule: Any, field: str) -> ScheduleSpec:
    """The ScheduleSpec of ``schedule`` (a ScheduleInput), or DeploymentError naming
    ``field.<part>`` (``schedules[0].cron``)."""
    if not isinstance(schedule, ScheduleInput):
        raise DeploymentError("A schedule must be a ScheduleInput.", field=field)
    anchor = _checked_anchor(schedule.anchor, f"{field}.anchor")
    try:
        return parse_schedule(
            schedule.kind, schedule.value, timezone=schedule.timezone or "UTC", anchor=anchor
        )
    except ScheduleError as exc:
        raise DeploymentError(str(exc), field=f"{field}.{exc.field}") from None


def _schedule_row_values(spec: ScheduleSpec, active: bool) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "value": spec.value,
        "timezone": spec.timezone,
        "anchor": spec.anchor,
        "active": bool(active),
    }


# ---- the runs a change makes stale ------------------------------------------------------------
def _delete_future_runs(**where: Any) -> int:
    """Delete the runs that schedules made and that have not started (still waiting, never
    sent); the scheduler makes them again from what the deployment now says."""
    _, by_model = FlowRun.objects.filter(
        auto_scheduled=True, state_type="SCHEDULED", dispatched_at__isnull=True, **where
    ).delete()
    return by_model.get(FlowRun._meta.label, 0)


# ---- deployments ----------------------------------------------------------------------------
def create_deployment(
    *,
    flow_name: str,
    name: str,
    parameters: dict[str, Any] | None = None,
    work_queue: str = DEFAULT_WORK_QUEUE,
    tags: Any = (),
    description: str = "",
    schedules: Any = (),
    paused: bool = False,
    catchup: str = "once",
) -> Deployment:
    """Make a deployment of the registered flow ``flow_name`` with its schedules, in one
    transaction; the scheduler then makes its runs. Raises DeploymentError naming the field."""
    flow = _checked_flow(flow_name)
    name = _checked_name(name)
    schedules = list(schedules or ())
    specs = [_checked_schedule(s, f"schedules[{i}]") for i, s in enumerate(schedules)]
    values = _checked_parameters(flow.name, parameters, complete=bool(schedules))
    queue = _checked_queue(work_queue)
    tags = _checked_tags(tags)
    description = _checked_text(description, "description")
    catchup = _checked_catchup(catchup)
    taken = DeploymentError(
        f"Flow {flow.name!r} already has a deployment called {name!r}; choose another name, or "
        "change that one.",
        field="name",
    )
    if Deployment.objects.filter(flow=flow, name=name).exists():
        raise taken
    try:
        with transaction.atomic():
            deployment = Deployment.objects.create(
                flow=flow,
                name=name,
                parameters=values,
                work_queue=queue,
                tags=tags,
                description=description,
                paused=bool(paused),
                catchup=catchup,
            )
            DeploymentSchedule.objects.bulk_create(
                DeploymentSchedule(deployment=deployment, **_schedule_row_values(spec, s.active))
                for spec, s in zip(specs, schedules, strict=True)
            )
    except IntegrityError:  # made by another process since the check
        raise taken from None
    return get_deployment(deployment.id)


def update_deployment(
    deployment_id: int | str,
    *,
    parameters: Any = UNSET,
    work_queue: Any = UNSET,
    tags: Any = UNSET,
    description: Any = UNSET,
    catchup: Any = UNSET,
) -> Deployment:
    """Change a deployment; a change of its parameters, queue or tags deletes the runs its
    schedules made that have not started (the scheduler makes them again)."""
    deployment = get_deployment(deployment_id)
    changed: list[str] = []
    if parameters is not UNSET:
        deployment.parameters = _checked_parameters(
            deployment.flow.name, parameters, complete=deployment.schedules.exists()
        )
        changed.append("parameters")
    if work_queue is not UNSET:
        deployment.work_queue = _checked_queue(work_queue)
        changed.append("work_queue")
    if tags is not UNSET:
        deployment.tags = _checked_tags(tags)
        changed.append("tags")
    if description is not UNSET:
        deployment.description = _checked_text(description, "description")
        changed.append("description")
    if catchup is not UNSET:
        deployment.catchup = _checked_catchup(catchup)
        changed.append("catchup")
    if changed:
        with transaction.atomic():
            deployment.save(update_fields=[*changed, "updated"])
            if {"parameters", "work_queue", "tags"} & set(changed):
                _delete_future_runs(deployment=deployment)
    return deployment


def pause_deployment(deployment_id: int | str) -> Deployment:
    """Stop a deployment's schedules making runs; the runs they made that have not started are
    deleted. Runs started by hand go on."""
    deployment = get_deployment(deployment_id)
    with transaction.atomic():
        deployment.paused = True
        deployment.save(update_fields=["paused", "updated"])
        _delete_future_runs(deployment=deployment)
    return deployment


def resume_deployment(deployment_id: int | str) -> Deployment:
    """Let a deployment's schedules make runs again (from now on, by its catch-up policy)."""
    deployment = get_deployment(deployment_id)
    deployment.paused = False
    deployment.save(update_fields=["paused", "updated"])
    return deployment


def delete_deployment(deployment_id: int | str) -> None:
    """Delete a deployment, its schedules, and the runs they made that have not started; its
    other runs stay, no longer linked to it."""
    deployment = get_deployment(deployment_id)
    with transaction.atomic():
        _delete_future_runs(deployment=deployment)
        deployment.delete()


def run_deployment(
    deployment_id: int | str,
    *,
    parameters: dict[str, Any] | None = None,
    scheduled_time: dt.datetime | None = None,
) -> FlowRun:
    """Start a run of the deployment now (or at ``scheduled_time``): its parameters are the
    deployment's merged with ``parameters``; it waits in the deployment's work queue for room.
    Raises DeploymentError naming ``parameters`` or ``flow``."""
    from runs.services.flow_runs import FlowRunNameError, start_flow_run

    deployment = get_deployment(deployment_id)
    if parameters is not None and not isinstance(parameters, dict):
        raise DeploymentError("Parameters must be an object of name -> value.", field="parameters")
    if scheduled_time is not None and (
        not isinstance(scheduled_time, dt.datetime) or scheduled_time.tzinfo is None
    ):
        raise DeploymentError(
            "The start time must be a datetime with a time zone.", field="scheduled_time"
        )
    try:
        return start_flow_run(
            flow_name=deployment.flow.name,
            parameters=parameters or {},
            deployment=deployment,
            scheduled_time=scheduled_time,
        )
    except (UnknownFlow, RegistrationError) as exc:
        raise DeploymentError(str(exc), field="flow") from None
    except ParameterError as exc:
        detail = "; ".join(f"parameter {name!r}: {message}" for name, message in exc.errors.items())
        raise DeploymentError(
            f"The parameters do not fit flow {deployment.flow.name!r}: {detail}.",
            field="parameters",
        ) from None
    except FlowRunNameError as exc:
        raise DeploymentError(str(exc), field="parameters") from None


# ---- schedules ------------------------------------------------------------------------------
def _get_schedule(schedule_id: int | str) -> DeploymentSchedule:
    found = None
    if str(schedule_id).strip().isdigit():
        found = (
            DeploymentSchedule.objects.select_related("deployment__flow")
            .filter(id=int(str(schedule_id).strip()))
            .first()
        )
    if found is None:
        raise ObjectNotFound(f"No deployment schedule has id {schedule_id!r}.")
    return found


def add_schedule(deployment_id: int | str, schedule: ScheduleInput) -> DeploymentSchedule:
    """Give a deployment one more schedule. A deployment whose parameters leave a required one
    out cannot have schedules: DeploymentError names ``parameters``."""
    deployment = get_deployment(deployment_id)
    spec = _checked_schedule(schedule, "schedule")
    _checked_parameters(deployment.flow.name, deployment.parameters, complete=True)
    return DeploymentSchedule.objects.create(
        deployment=deployment, **_schedule_row_values(spec, schedule.active)
    )


def update_schedule(schedule_id: int | str, schedule: ScheduleInput) -> DeploymentSchedule:
    """Replace a schedule's definition; the runs it made that have not started are deleted."""
    row = _get_schedule(schedule_id)
    spec = _checked_schedule(schedule, "schedule")
    with transaction.atomic():
        for attribute, value in _schedule_row_values(spec, schedule.active).items():
            setattr(row, attribute, value)
        row.save()
        _delete_future_runs(schedule=row)
    return row


def set_schedule_active(schedule_id: int | str, active: bool) -> DeploymentSchedule:
    """Pause (``active=False``) or resume a schedule; pausing deletes the runs it made that have
    not started."""
    row = _get_schedule(schedule_id)
    with transaction.atomic():
        row.active = bool(active)
        row.save(update_fields=["active", "updated"])
        if not row.active:
            _delete_future_runs(schedule=row)
    return row


def delete_schedule(schedule_id: int | str) -> None:
    """Delete a schedule and the runs it made that have not started."""
    row = _get_schedule(schedule_id)
    with transaction.atomic():
        _delete_future_runs(schedule=row)
        row.delete()
