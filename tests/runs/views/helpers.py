"""Rows for view tests, written straight through the ORM with unique names."""

from __future__ import annotations

import datetime as dt
import uuid

from runs.models import Flow, FlowRun, RunTag, State, TaskRun
from runs.states import STATE_NAMES, now


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_flow_run(
    *,
    flow: str | None = None,
    name: str | None = None,
    state: str = "Completed",
    tags: tuple[str, ...] = (),
    created: dt.datetime | None = None,
) -> FlowRun:
    row, _ = Flow.objects.get_or_create(name=flow or unique("flow"))
    moment = created or now()
    run = FlowRun.objects.create(
        flow=row,
        name=name or unique("run"),
        state_type=STATE_NAMES[state].value,
        state_name=state,
        created=moment,
        start_time=moment,
        tags=list(tags),
        end_time=moment + dt.timedelta(seconds=1) if state in ("Completed", "Failed") else None,
    )
    for tag in tags:
        RunTag.objects.create(tag=tag, flow_run=run)
    State.objects.create(flow_run=run, type=run.state_type, name=state, timestamp=moment)
    return run


def make_task_run(
    flow_run: FlowRun,
    *,
    name: str | None = None,
    state: str = "Completed",
    task_name: str | None = None,
    task_key: str | None = None,
    map_index: int = -1,
    tags: tuple[str, ...] = (),
    created: dt.datetime | None = None,
    history: tuple[str, ...] = (),
) -> TaskRun:
    moment = created or now()
    task_name = task_name or unique("task")
    run = TaskRun.objects.create(
        flow_run=flow_run,
        name=name or f"{task_name}-{max(map_index, 0)}",
        task_name=task_name,
        task_key=task_key or task_name,
        map_index=map_index,
        state_type=STATE_NAMES[state].value,
        state_name=state,
        created=moment,
        start_time=moment,
        tags=list(tags),
        run_count=1,
    )
    for tag in tags:
        RunTag.objects.create(tag=tag, task_run=run)
    for index, state_name in enumerate(history or ("Pending", "Running", state)):
        State.objects.create(
            task_run=run,
            type=STATE_NAMES[state_name].value,
            name=state_name,
            timestamp=moment + dt.timedelta(milliseconds=10 * index),
        )
    return run
