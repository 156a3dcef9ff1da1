"""The processes that execute runs, as the Workers page shows them: from their leases.

Every process that runs flows or tasks keeps a lease (:mod:`runs.owners`): `runs worker`'s pool
processes say so, with the queues they consume; scripts that call flows are processes too. A
process whose lease lapsed and that is not running on this machine is lost: its runs are
reaped by the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import F

from runs.models import FlowRun, ProcessLease, TaskRun
from runs.owners import dead_owners, lease_seconds
from runs.states import now

#: How many of a process's running runs the page names (the latest started first).
RUNS_NAMED = 5


@dataclass
class WorkerProcess:
    """One process that executes runs, and what it runs now."""

    owner: str
    kind: str
    hostname: str
    pid: int
    queues: list[str]
    started: dt.datetime
    last_heartbeat: dt.datetime
    alive: bool
    running_task_runs: int = 0
    running_flow_runs: int = 0
    running: list = field(default_factory=list)


def worker_processes(*, include_scripts: bool = True) -> list[WorkerProcess]:
    """Every process with a lease, workers first, then by host and pid; alive ones and lost
    ones (lease lapsed and not running here) alike, until the reaper forgets them."""
    leases = list(ProcessLease.objects.order_by("hostname", "pid"))
    if not include_scripts:
        leases = [lease for lease in leases if lease.kind == "worker"]
    owners = [lease.owner for lease in leases]
    dead = dead_owners(owners)
    running_tasks = list(
        TaskRun.objects.filter(owner__in=owners, state_type="RUNNING")
        .order_by(F("start_time").desc(nulls_last=True))
        .only("id", "name", "owner", "start_time", "state_type", "state_name")
    )
    running_flows = list(
        FlowRun.objects.filter(owner__in=owners, state_type="RUNNING")
        .order_by(F("start_time").desc(nulls_last=True))
        .only("id", "name", "owner", "start_time", "state_type", "state_name")
    )
    renewal = dt.timedelta(seconds=lease_seconds())
    processes = {}
    for lease in leases:
        processes[lease.owner] = WorkerProcess(
            owner=lease.owner,
            kind=lease.kind or "script",
            hostname=lease.hostname,
            pid=lease.pid,
            queues=[q for q in lease.queues.split(",") if q],
            started=lease.started,
            # A renewal sets expires to now + LEASE_FACTOR heartbeats: the last one was then.
            last_heartbeat=min(lease.expires - renewal, now()),
            alive=lease.owner not in dead,
        )
    for run in running_flows + running_tasks:
        process = processes[run.owner]
        if isinstance(run, TaskRun):
            process.running_task_runs += 1
        else:
            process.running_flow_runs += 1
        if len(process.running) < RUNS_NAMED:
            process.running.append(run)
    return sorted(processes.values(), key=lambda p: (p.kind != "worker", not p.alive))
