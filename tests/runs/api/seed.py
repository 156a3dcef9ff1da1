"""Rows for API tests: uniquely named flows, runs and states written with the ORM; log lines
written through the runs' own loggers."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from runs.models import Flow, FlowRun, RunTag, State, TaskRun, TaskRunDependency
from runs.states import now


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user(role: str | None = "admin", **extra):
    """A new user with ``role`` (viewer, operator, admin; None: no role at all)."""
    from runs.roles import set_role

    made = get_user_model().objects.create_user(username=unique("user"), **extra)
    if role is not None:
        set_role(made, role)
    return made


def api_client(role: str | None = "admin", **extra) -> APIClient:
    client = APIClient()
    client.force_authenticate(user(role, **extra))
    return client


def flow(name: str | None = None, **fields) -> Flow:
    return Flow.objects.create(name=name or unique("flow"), **fields)


def flow_run(
    flow_row: Flow | None = None,
    *,
    state: str = "COMPLETED",
    name: str | None = None,
    created: dt.datetime | None = None,
    tags=(),
    **fields,
) -> FlowRun:
    created = created or now()
    run = FlowRun.objects.create(
        flow=flow_row or flow(),
        name=name or unique("fr"),
        state_type=state,
        state_name=fields.pop("state_name", state.capitalize()),
        state_timestamp=created,
        created=created,
        tags=list(tags),
        **fields,
    )
    RunTag.objects.bulk_create([RunTag(tag=t, flow_run=run) for t in tags])
    return run


def task_run(
    parent: FlowRun,
    *,
    state: str = "COMPLETED",
    name: str | None = None,
    task_name: str = "step",
    created: dt.datetime | None = None,
    tags=(),
    **fields,
) -> TaskRun:
    created = created or now()
    run = TaskRun.objects.create(
        flow_run=parent,
        name=name or unique("tr"),
        task_key=task_name,
        task_name=task_name,
        state_type=state,
        state_name=fields.pop("state_name", state.capitalize()),
        state_timestamp=created,
        created=created,
        tags=list(tags),
        **fields,
    )
    RunTag.objects.bulk_create([RunTag(tag=t, task_run=run) for t in tags])
    return run


def depends(downstream: TaskRun, upstream: TaskRun, parameter: str = "x") -> None:
    TaskRunDependency.objects.create(downstream=downstream, upstream=upstream, parameter=parameter)


def states(run, *types: str, start: dt.datetime | None = None) -> list[State]:
    """One State row per type, a second apart, for a flow run or a task run."""
    start = start or now()
    key = "flow_run" if isinstance(run, FlowRun) else "task_run"
    return [
        State.objects.create(
            **{key: run}, type=t, name=t.capitalize(), timestamp=start + dt.timedelta(seconds=i)
        )
        for i, t in enumerate(types)
    ]


def log(run, message: str, level: int = 20) -> None:
    """Log ``message`` as ``run`` itself would (its run logger), and store it now.

    Through the real handler and writer, not a hand-made row: a hand-made row once hid that
    task-run lines were stored without their flow run.
    """
    from runs.logging import flow_run_logger, task_run_logger
    from runs.orchestration.writer import writer

    logger = flow_run_logger(run) if isinstance(run, FlowRun) else task_run_logger(run)
    logger.log(level, message)
    writer.flush()


def walk(client: APIClient, url: str) -> list[dict]:
    """Every item of a paginated list, following ``next`` links."""
    items = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        items.extend(body["results"])
        url = body["next"]
    return items
