"""Owners: the process that executes a run, and whether it still lives.

Each process that executes runs has an owner id and a ProcessLease row whose ``expires`` its
heartbeat (:mod:`runs.leases`) pushes forward every RUNS_HEARTBEAT_SECONDS. Runs and
concurrency slots name their owner; orchestration, the slots and the reaper ask here whether
that owner is dead.

An owner is dead when it has no lease, or its lease lapsed and it is not a process still running
on this machine (:mod:`runs.processes`). The second half keeps a late renewal from ever killing
a healthy run: a busy process whose heartbeat waited for SQLite's write lock longer than its
lease is still seen alive by every process on its machine, which, with SQLite, is every process.
Across machines (PostgreSQL) the lease alone decides, and a renewal there waits for nobody's
lock: the lease row is written by its owner only.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterable
from typing import Any

from runs import conf
from runs.processes import alive_here, process_key
from runs.states import now

_owner: tuple[int, str] | None = None

LEASE_FACTOR = 3


def current_owner() -> str:
    """This process's owner id (new after a fork)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}")
    return _owner[1]


def lease_seconds() -> float:
    """How long a renewal keeps this process's lease fresh."""
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
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "started": current,
                "expires": current + dt.timedelta(seconds=lease_seconds()),
                "process_key": process_key(),
                "kind": "worker" if worker_queues() is not None else "script",
                "queues": worker_queues() or "",
            },
        )


#: The environment variable `runs worker` sets for its pool processes: the queues it consumes.
WORKER_QUEUES_ENV = "RUNS_WORKER_QUEUES"


def worker_queues() -> str | None:
    """The queues this process consumes when it is a `runs worker` process, else None."""
    return os.environ.get(WORKER_QUEUES_ENV)


def dead_owners(owners: Iterable[str]) -> set[str]:
    """Those of ``owners`` whose process is gone: no lease, or a lapsed lease and no such process
    running on this machine. An empty owner is nobody's and never dead."""
    from runs.models import ProcessLease

    owners = {owner for owner in owners if owner}
    if not owners:
        return set()
    leases = {
        owner: (expires, key)
        for owner, expires, key in ProcessLease.objects.filter(owner__in=owners).values_list(
            "owner", "expires", "process_key"
        )
    }
    current = now()
    return {owner for owner in owners if _lease_dead(*leases.get(owner, (None, "")), current)}


def _lease_dead(expires: dt.datetime | None, key: str, current: dt.datetime) -> bool:
    """Whether the process of a lease (None: no lease) is gone: its lease lapsed and no such
    process runs on this machine."""
    if expires is not None and expires > current:
        return False
    return alive_here(key) is not True


def dead_owners_filter(queryset: Any, field: str = "owner") -> Any:
    """A Q object matching the rows of ``queryset`` whose ``field`` names a dead owner.

    Owners with a fresh lease are left out in SQL; the few others are judged one by one.
    """
    from django.db.models import Q

    from runs.models import ProcessLease

    fresh = ProcessLease.objects.filter(expires__gt=now()).values("owner")
    candidates = (
        queryset.filter(**{f"{field}__gt": ""})  # a range of the (state, owner) indexes
        .exclude(**{f"{field}__in": fresh})
        .order_by()
        .values_list(field, flat=True)
        .distinct()
    )
    return Q(**{f"{field}__in": sorted(dead_owners(candidates))})


def owner_is_alive(owner: str) -> bool:
    """Whether the process ``owner`` names still runs (see :func:`dead_owners`). A process of
    this machine that has exited is dead at once, its lease still fresh or not."""
    from runs.models import ProcessLease

    if not owner:
        return False
    lease = ProcessLease.objects.filter(owner=owner).values_list("expires", "process_key").first()
    if lease is None:
        return False
    expires, key = lease
    if key and alive_here(key) is False:
        return False
    return not _lease_dead(expires, key, now())
