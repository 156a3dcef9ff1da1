"""Final states other processes wrote, taken by the records of this process.

A flow run executing here can be cancelled elsewhere (the API, the dashboard): the database
then has its CANCELLED state, and this process's record must take it, not write its own over
it. The heartbeat asks :func:`notice_cancellations` about the flow runs it executes; the same
updates serve the policy's ``AdoptFinalFromElsewhere`` rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runs.orchestration.records import FlowRunRecord
from runs.orchestration.rules.final import adoption
from runs.states import Cancelled, State


def adopt_final_state(record: FlowRunRecord, state: State) -> None:
    """Make ``record`` take the final ``state`` the database has for it; nothing is written."""
    with record.lock:
        for target, name, value in adoption(record, state):
            setattr(target, name, value)


def notice_cancellations(flow_runs: Mapping[Any, FlowRunRecord]) -> int:
    """Make each of ``flow_runs`` (records by id) that the database has CANCELLED, and that
    has not heard of it yet, take that state; the number that did."""
    from runs.models import FlowRun

    ids = list(flow_runs.keys())
    if not ids:
        return 0
    cancelled = FlowRun.objects.filter(id__in=ids, state_type="CANCELLED").values_list(
        "id", "state_message"
    )
    count = 0
    for flow_run_id, message in cancelled:
        record = flow_runs.get(flow_run_id)
        if record is not None and not record.cancel_requested:
            adopt_final_state(record, Cancelled(message or "Cancelled."))
            count += 1
    return count
