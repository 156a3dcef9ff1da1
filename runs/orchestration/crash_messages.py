"""What a run ended by the reaper says: which process was lost, where, how we know, and what
the run was doing then.

The reaper (:mod:`runs.orchestration.ownership`) ends runs whose process is gone; the state's
message is all a user sees of it, on the dashboard or in ``runs task-run inspect``, so it names
the process as its lease row knows it (kind, pid, host), says whether it is known to have exited
(this machine can tell) or only stopped renewing its lease, and says what the run was doing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from runs.orchestration.records import FlowRunRecord, RunRecord, TaskRunRecord
from runs.processes import alive_here
from runs.states import now


@dataclass(frozen=True)
class Lease:
    """What the lease row of a process says about it."""

    hostname: str
    pid: int
    kind: str
    queues: str
    expires: dt.datetime
    process_key: str


def leases_of(owners: Iterable[str]) -> dict[str, Lease]:
    """The lease rows of ``owners`` (one query); owners without a row are left out."""
    from runs.models import ProcessLease

    owners = sorted({owner for owner in owners if owner})
    if not owners:
        return {}
    rows = ProcessLease.objects.filter(owner__in=owners).values_list(
        "owner", "hostname", "pid", "kind", "queues", "expires", "process_key"
    )
    return {owner: Lease(*fields) for owner, *fields in rows}


def at(moment: dt.datetime | None) -> str:
    """A moment in UTC, the date left out when it is today."""
    if moment is None:
        return "an unknown time"
    moment = moment.astimezone(dt.UTC)
    if moment.date() == now().astimezone(dt.UTC).date():
        return moment.strftime("%H:%M:%S UTC")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def process(owner: str, lease: Lease | None) -> str:
    """``owner``'s process as a reader knows it: its kind, pid and host."""
    if lease is None:
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if host and pid.isdigit():
            return f"process {pid} on {host}"
        return f"process {owner}"
    kind = f"{lease.kind} process" if lease.kind else "process"
    queues = f" (queues {lease.queues})" if lease.kind == "worker" and lease.queues else ""
    return f"{kind} {lease.pid} on {lease.hostname}{queues}"


def loss(lease: Lease | None, *, brief: bool = False) -> str:
    """How the process is known to be gone, as the end of a sentence about it (``brief``:
    without the lease's details)."""
    if lease is None:
        if brief:
            return "left no lease"
        return "left no lease (it died before its first heartbeat, or its lease was pruned)"
    if brief:
        exited = alive_here(lease.process_key) is False
        return "has exited" if exited else "stopped renewing its lease; it probably died"
    ran_out = f"its lease, which ran out at {at(lease.expires)}"
    if lease.expires > now():
        ran_out = f"its lease, which runs to {at(lease.expires)}"
    if alive_here(lease.process_key) is False:
        return f"has exited: it stopped renewing {ran_out}"
    return f"stopped renewing {ran_out}; it probably died"


def doing(record: RunRecord) -> str:
    """What ``record``'s run was doing, from its current state."""
    noun = "task run" if isinstance(record, TaskRunRecord) else "flow run"
    state = record.state
    since = at(state.timestamp if state is not None else None)
    if state is None:
        return f"The {noun} had no state yet."
    if state.is_running():
        start = at(record.start_time or state.timestamp)
        attempt = f" (attempt {record.run_count})" if record.run_count > 1 else ""
        return f"The {noun} had been running since {start}{attempt}."
    if state.is_pending() and state.name == "Pending" and record.owner:
        return f"The {noun} had been claimed (Pending since {since}) but not started."
    if state.is_pending() and state.name == "Pending":
        return f"The {noun} had been Pending since {since}, claimed by no worker."
    return f"The {noun} had been {state.name} since {since}."


def owner_lost(record: RunRecord, lease: Lease | None) -> str:
    """The message of a run ended because the process that held it (``record.owner``) is gone."""
    noun = "task run" if isinstance(record, TaskRunRecord) else "flow run"
    verb = "ran" if record.state is not None and record.state.is_running() else "held"
    if isinstance(record, TaskRunRecord) and verb == "held" and record.state.is_pending():
        verb = "had claimed"
    who = process(record.owner, lease)
    return f"The {who} that {verb} this {noun} {loss(lease)}. {doing(record)}"


def flow_run_ended(record: TaskRunRecord, flow_run: FlowRunRecord, lease: Lease | None) -> str:
    """The message of a task run ended because its flow run ended first and the flow run's
    process is gone too (``lease``: its lease), so that nothing will ever run it."""
    ended, waiting = flow_run.state, record.state
    held = f"held by {process(record.owner, None)}, which is gone" if record.owner else ""
    held = held or ("claimed by no worker" if waiting.name == "Pending" else "")
    since = f"since {at(waiting.timestamp)}" + (f", {held}" if held else "")
    message = (
        f"Its flow run ended ({ended.name} at {at(ended.timestamp)}) while this task run was "
        f"still {waiting.name} ({since}), so nothing will run it."
    )
    if not flow_run.owner:
        return message
    who = process(flow_run.owner, lease)
    return f"{message} The flow run's process, {who}, {loss(lease, brief=True)}."
