"""Starting registered flows on a worker, and cancelling flow runs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from runs.engine.naming import format_run_name
from runs.exceptions import ObjectNotFound
from runs.models import FlowRun
from runs.orchestration import propose_state, set_flow_run_state
from runs.orchestration.records import FlowRunRecord
from runs.parameters import coerce_parameters, jsonable_parameters
from runs.registry import flow_of, get_registered_flow
from runs.states import Cancelled, Scheduled, now

if TYPE_CHECKING:
    from runs.flows import Flow
    from runs.models import Deployment


class FlowRunError(ValueError):
    """A flow run that cannot be changed as asked."""


class FlowRunNameError(FlowRunError):
    """The flow's ``flow_run_name`` cannot name a run with the parameters given."""


def with_defaults(flow: Flow, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the flow's defaults for the parameters not given, in signature order (a
    direct call records them too)."""
    ordered: dict[str, Any] = {}
    for name, param in flow.signature.parameters.items():
        if name in values:
            ordered[name] = values[name]
        elif param.default is not param.empty and param.kind not in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            ordered[name] = param.default
    return {**ordered, **values}


def given_parameters(flow: Flow, recorded: dict[str, Any]) -> dict[str, Any]:
    """The parameters a run was given, from those recorded with the flow's defaults: a value
    recorded as its default's stored form is left out, so the default itself is used (a
    tuple or a date stays one, instead of its JSON form)."""
    defaults = with_defaults(flow, {})
    if not defaults:
        return dict(recorded)
    stored = jsonable_parameters(defaults)
    return {
        name: value
        for name, value in recorded.items()
        if not (name in stored and stored[name] == value and type(stored[name]) is type(value))
    }


def run_name_for(flow: Flow, values: dict[str, Any]) -> str:
    """The name of a new run of ``flow`` with parameters ``values`` (coerced; defaults are added
    here): its ``flow_run_name`` filled in, or a random name when it has none.

    Raises FlowRunNameError when the template cannot be formatted or its function fails.
    """
    from runs.names import random_run_name

    template = flow.flow_run_name
    if template is None:
        return random_run_name()
    try:
        return format_run_name(template, with_defaults(flow, values), kind="flow", owner=flow.name)
    except (TypeError, ValueError) as exc:
        raise FlowRunNameError(f"The run could not be named: {exc}") from None
    except Exception as exc:  # the user's name function failed
        raise FlowRunNameError(
            f"The run could not be named: the flow_run_name function of flow {flow.name!r} "
            f"raised {type(exc).__name__}: {exc}"
        ) from None


def start_flow_run(
    *,
    flow_name: str,
    parameters: dict[str, Any] | None = None,
    rerun_of: uuid.UUID | None = None,
    deployment: Deployment | None = None,
    work_queue: str | None = None,
    scheduled_time: dt.datetime | None = None,
    tags: list[str] | None = None,
) -> FlowRun:
    """Create a SCHEDULED run of a registered flow in a work queue, which sends it to a worker
    as soon as its time has come and the queue has room.

    The parameters are checked and coerced by the rules of direct calls (runs.parameters) and
    the run is named by the flow's ``flow_run_name``; the worker keeps that name. A
    ``deployment``'s default parameters are merged under the given ones and its tags (with
    ``tags``) and queue are the run's. The queue is ``work_queue``, else the deployment's, else the default
    queue. Raises UnknownFlow for a name that is not registered, ParameterError (with an error
    per field) for parameters that do not fit the flow's signature, FlowRunNameError when the
    flow's ``flow_run_name`` cannot be formatted with them, and WorkQueueError (field
    ``work_queue``) for a queue that does not exist.
    """
    from runs.runners.messages import RUN_FLOW_RUN, send
    from runs.services.dispatch import dispatch, once_history_commits
    from runs.services.work_queues import DEFAULT_WORK_QUEUE, WorkQueueError, get_work_queue

    row = get_registered_flow(flow_name)
    flow = flow_of(row)
    given = {**(deployment.parameters if deployment else {}), **(parameters or {})}
    values = coerce_parameters(flow.fn, given)
    queue_name = work_queue or (deployment.work_queue.name if deployment else DEFAULT_WORK_QUEUE)
    try:
        queue = get_work_queue(queue_name)
    except ObjectNotFound as exc:
        raise WorkQueueError(str(exc), field="work_queue") from None
    created = now()
    record = FlowRunRecord(
        name=run_name_for(flow, values),
        flow_id=row.id,
        flow_name=row.name,
        parameters=jsonable_parameters(with_defaults(flow, values)),
        tags=[*(deployment.tags if deployment else []), *(tags or [])],
        sync=True,
        version=flow.version,
        rerun_of_id=rerun_of,
        deployment_id=deployment.id if deployment else None,
        work_queue_id=queue.id,
        expected_start_time=max(scheduled_time, created) if scheduled_time else created,
        created=created,
    )
    waits = "its start time and " if scheduled_time and scheduled_time > created else ""
    propose_state(
        record,
        Scheduled(
            f"Waiting for {waits}room in work queue {queue.name!r}.",
            scheduled_time=record.expected_start_time,
        ),
    )
    if record.dispatched_at is not None:  # its queue had room: it took its place as it was made
        message = [str(record.id), record.parameters]
        once_history_commits(lambda: send(RUN_FLOW_RUN, message, queue=queue.name))
    elif not waits:  # due, but others wait ahead or the queue is full: let the line move
        once_history_commits(lambda: dispatch(queue.id))
    return FlowRun.objects.select_related("flow", "work_queue", "deployment").get(id=record.id)


def rerun_flow_run(*, flow_run_id: uuid.UUID | str) -> FlowRun:
    """Start the flow of a finished flow run again with the same parameters: a new flow run
    linked to the first (``rerun_of``), whose task runs all run anew.

    Raises ObjectNotFound for an unknown id, FlowRunError for a run that has not finished or
    whose flow is not registered (a script's flow: run the script again), and the errors of
    :func:`start_flow_run` when the recorded parameters no longer fit the flow.
    """
    run = (
        FlowRun.objects.select_related("flow", "deployment__work_queue", "work_queue")
        .filter(id=flow_run_id)
        .first()
    )
    if run is None:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.")
    if not run.is_final:
        raise FlowRunError(
            f"Flow run {run.name!r} is still {run.state_name}; re-run it once it has finished, "
            "or cancel it first."
        )
    if not run.flow.entrypoint:
        raise FlowRunError(
            f"Flow {run.flow.name!r} is not registered, so no worker can start it; run the script "
            f"that calls it again, or register it with `runs deploy MODULE:FUNCTION`."
        )
    return start_flow_run(
        flow_name=run.flow.name,
        parameters=run.parameters,
        rerun_of=run.id,
        deployment=run.deployment,
        work_queue=run.work_queue.name if run.work_queue else None,
    )


def cancel_flow_run(*, flow_run_id: uuid.UUID | str) -> FlowRun:
    """Cancel a scheduled or running flow run: CANCELLED, and its task runs not started never start."""
    run = FlowRun.objects.filter(id=flow_run_id).first()
    if run is None:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.")
    if not run.is_final:
        set_flow_run_state(run.id, Cancelled("Cancelled by request."))
        run.refresh_from_db()
        if run.state_type == "CANCELLED":
            if run.dispatched_at is not None:  # it held a place in its queue: the next may go
                from runs.services.dispatch import dispatch_quietly

                dispatch_quietly(run.work_queue_id)
            return run
    # ended before the cancel, or while it was decided (its worker's last step finished first)
    raise FlowRunError(
        f"Flow run {run.name!r} is already {run.state_name}; only scheduled, "
        "pending or running flow runs can be cancelled."
    )
