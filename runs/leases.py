"""Process leases: a run is alive while the process executing it keeps renewing its lease.

Each process that executes runs has an owner id and a ProcessLease row whose ``expires`` a
heartbeat thread pushes forward every RUNS_HEARTBEAT_SECONDS. The same thread reaps: runs left
RUNNING by a dead owner (a worker killed with -9) end CRASHED and their concurrency slots are
freed; and it notices flow runs of this process cancelled from elsewhere.

An owner is dead when it has no lease, or its lease lapsed and it is not a process still running
on this machine (:mod:`runs.processes`). The second half keeps a late renewal from ever killing
a healthy run: a busy process whose heartbeat waited for SQLite's write lock longer than its
lease is still seen alive by every process on its machine, which, with SQLite, is every process.
Across machines (PostgreSQL) the lease alone decides, and a renewal there waits for nobody's
lock: the lease row is written by its owner only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
import weakref

from runs import conf
from runs.processes import alive_here, process_key
from runs.states import Crashed, now

logger = logging.getLogger("runs.leases")

_owner: tuple[int, str] | None = None
_thread: tuple[int, threading.Thread] | None = None
_lock = threading.Lock()
_stopping = threading.Event()
#: Flow runs executing in this process, so that a cancellation from elsewhere reaches them.
active_flow_runs: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

LEASE_FACTOR = 3


def current_owner() -> str:
    """This process's owner id (new after a fork)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}")
    return _owner[1]


def lease_seconds() -> float:
    return LEASE_FACTOR * max(conf.settings.RUNS_HEARTBEAT_SECONDS, 0.05)


def renew() -> None:
    """Push this process's lease forward (creating it on first use)."""
    from runs.models import ProcessLease

    current = now()
    owner = current_owner()
    updated = ProcessLease.objects.filter(owner=owner).update(
        expires=current + dt.timedelta(seconds=lease_seconds())
    )
    if not updated:
        ProcessLease.objects.update_or_create(
            owner=owner,
            defaults={
                "hostname": socket.gethostname(), "pid": os.getpid(), "started": current,
                "expires": current + dt.timedelta(seconds=lease_seconds()),
                "process_key": process_key(),
            },
        )


def ensure_heartbeat() -> None:
    """Renew the lease now and keep renewing it from a daemon thread (once per process)."""
    global _thread
    pid = os.getpid()
    if _thread is not None and _thread[0] == pid:
        return
    with _lock:
        if _thread is not None and _thread[0] == pid:
            return
        renew()
        thread = threading.Thread(target=_heartbeat_loop, name="runs-heartbeat", daemon=True)
        _thread = (pid, thread)
        thread.start()


def _heartbeat_loop() -> None:
    from django.db import close_old_connections

    while not _stopping.wait(conf.settings.RUNS_HEARTBEAT_SECONDS):
        try:
            renew()
            notice_cancellations()
            reap_dead_runs()
        except Exception:
            logger.exception("Heartbeat failed; will try again")
            close_old_connections()


def stop_heartbeat() -> None:
    """Stop renewing (at shutdown): this process's runs are then reaped by others."""
    _stopping.set()


def dead_owners(owners) -> set[str]:
    """Those of ``owners`` whose process is gone: no lease, or a lapsed lease and no such process
    running on this machine. An empty owner is nobody's and never dead."""
    from runs.models import ProcessLease

    owners = {owner for owner in owners if owner}
    if not owners:
        return set()
    leases = {owner: (expires, key) for owner, expires, key in ProcessLease.objects.filter(
        owner__in=owners).values_list("owner", "expires", "process_key")}
    current = now()
    dead = set()
    for owner in owners:
        expires, key = leases.get(owner, (None, ""))
        if expires is not None and expires > current:
            continue
        if alive_here(key) is not True:
            dead.add(owner)
    return dead


def dead_owners_filter(queryset, field: str = "owner"):
    """A Q object matching the rows of ``queryset`` whose ``field`` names a dead owner.

    Owners with a fresh lease are left out in SQL; the few others are judged one by one.
    """
    from django.db.models import Q

    from runs.models import ProcessLease

    fresh = ProcessLease.objects.filter(expires__gt=now()).values("owner")
    candidates = (queryset.exclude(**{field: ""}).exclude(**{f"{field}__in": fresh})
                  .order_by().values_list(field, flat=True).distinct())
    return Q(**{f"{field}__in": sorted(dead_owners(candidates))})


def owner_is_alive(owner: str) -> bool:
    """Whether the process ``owner`` names still runs (see :func:`dead_owners`)."""
    return bool(owner) and not dead_owners([owner])


def reap_dead_runs() -> int:
    """End CRASHED every run left RUNNING by a dead process; returns how many."""
    from django.db.models import Q

    from runs.models import FlowRun, TaskRun
    from runs.orchestration import set_flow_run_state, set_task_run_state

    count = 0
    # Pending with an owner: claimed by a worker for a chunk of runs it had not started yet.
    left = TaskRun.objects.filter(
        Q(state_type="RUNNING") | Q(state_type="PENDING", state_name="Pending"))
    left = left.filter(dead_owners_filter(left))
    for task_run_id, owner in left.values_list("id", "owner")[:500]:
        set_task_run_state(task_run_id, Crashed(
            f"The process that ran this task run ({owner}) stopped renewing its lease; "
            "it probably died."))
        count += 1
    running_flows = FlowRun.objects.filter(state_type="RUNNING")
    for flow_run_id, owner in running_flows.filter(
        dead_owners_filter(running_flows)
    ).values_list("id", "owner")[:100]:
        set_flow_run_state(flow_run_id, Crashed(
            f"The process that ran this flow run ({owner}) stopped renewing its lease; "
            "it probably died."))
        count += 1
    try:
        from limits.slots import reclaim_dead_slots

        reclaim_dead_slots()
    except ImportError:
        pass
    return count


def notice_cancellations() -> None:
    """Mark flow runs of this process that were cancelled in the database (API, dashboard)."""
    if not active_flow_runs:
        return
    from runs.models import FlowRun

    ids = list(active_flow_runs.keys())
    cancelled = FlowRun.objects.filter(id__in=ids, state_type="CANCELLED").values_list(
        "id", "state_message"
    )
    for flow_run_id, message in cancelled:
        record = active_flow_runs.get(flow_run_id)
        if record is not None and not record.cancel_requested:
            from runs.states import Cancelled

            with record.lock:
                record.cancel_requested = True
                record.state = Cancelled(message or "Cancelled.")
                record.persisted = True
