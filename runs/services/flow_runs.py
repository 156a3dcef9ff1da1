"""Starting registered flows on a worker, and cancelling flow runs."""

from __future__ import annotations

import uuid
from typing import Any

from runs.exceptions import ObjectNotFound
from runs.models import FlowRun
from runs.orchestration import propose_state, set_flow_run_state
from runs.orchestration.records import FlowRunRecord
from runs.parameters import coerce_parameters, jsonable_parameters
from runs.registry import get_registered_flow, load_flow
from runs.states import Cancelled, Scheduled


class FlowRunError(ValueError):
    """A flow run that cannot be changed as asked."""


def start_flow_run(*, flow_name: str, parameters: dict[str, Any] | None = None) -> FlowRun:
    """Create a SCHEDULED run of a registered flow and send it to a worker.

    Raises UnknownFlow for a name that is not registered and ParameterError (with an error per
    field) for parameters that do not fit the flow's signature.
    """
    from runs.names import random_run_name
    from runs.runners.messages import RUN_FLOW_RUN, send

    row = get_registered_flow(flow_name)
    flow = load_flow(flow_name)
    values = coerce_parameters(flow.fn, parameters or {})
    record = FlowRunRecord(
        name=random_run_name(),
        flow_id=row.id,
        flow_name=row.name,
        parameters=jsonable_parameters(values),
        sync=True,
    )
    propose_state(record, Scheduled("Waiting for a worker."))
    send(RUN_FLOW_RUN, [str(record.id), parameters or {}])
    return FlowRun.objects.select_related("flow").get(id=record.id)


def cancel_flow_run(*, flow_run_id: uuid.UUID | str) -> FlowRun:
    """Cancel a scheduled or running flow run: CANCELLED, and its task runs not started never start."""
    run = FlowRun.objects.filter(id=flow_run_id).first()
    if run is None:
        raise ObjectNotFound(f"No flow run has id {flow_run_id}.")
    if not run.is_final:
        set_flow_run_state(run.id, Cancelled("Cancelled by request."))
        run.refresh_from_db()
        if run.state_type == "CANCELLED":
            return run
    # ended before the cancel, or while it was decided (its worker's last step finished first)
    raise FlowRunError(
        f"Flow run {run.name!r} is already {run.state_name}; only scheduled, "
        "pending or running flow runs can be cancelled."
    )
