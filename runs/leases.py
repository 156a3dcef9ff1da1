"""The heartbeat: this process keeps its lease fresh, reaps the runs of dead processes, and
hears of cancellations.

A daemon thread renews this process's lease (:mod:`runs.owners`) every RUNS_HEARTBEAT_SECONDS.
The same thread reaps: runs left RUNNING by a dead owner (a worker killed with -9) end CRASHED
through orchestration and their concurrency slots are freed; and it notices flow runs of this
process cancelled from elsewhere.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref

from runs import conf
from runs.owners import renew
from runs.process import runtime

logger = logging.getLogger("runs.leases")

_thread: tuple[int, threading.Thread] | None = None
_lock = threading.Lock()
_stopping = threading.Event()
#: Flow runs executing in this process, so that a cancellation from elsewhere reaches them.
active_flow_runs: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


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
        _thread = (pid, runtime.ensure("heartbeat", _heartbeat_loop))


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


# The last of the process's exit steps: the lease holds until the runs' history is written.
runtime.on_stop("heartbeat", stop_heartbeat)


def reap_dead_runs() -> int:
    """End CRASHED every run left RUNNING by a dead process, and free the slots of dead
    processes; returns how many runs ended. Orchestration decides and writes both."""
    from runs.orchestration.ownership import crash_runs_of_dead_owners
    from runs.orchestration.slots import reclaim_dead_slots

    count = crash_runs_of_dead_owners()
    reclaim_dead_slots()
    return count


def notice_cancellations() -> None:
    """Make flow runs of this process that were cancelled in the database (API, dashboard)
    take their CANCELLED state, so that they stop."""
    if not active_flow_runs:
        return
    from runs.orchestration.notices import notice_cancellations as notice

    notice(active_flow_runs)
