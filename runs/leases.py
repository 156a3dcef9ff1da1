"""The heartbeat: this process keeps its lease fresh, reaps the runs of dead processes, and
hears of cancellations.

A daemon thread renews this process's lease (:mod:`runs.owners`) every RUNS_HEARTBEAT_SECONDS.
The same thread reaps: runs left RUNNING by a dead owner (a worker killed with -9) end CRASHED
through orchestration and their concurrency slots are freed, and so do task runs that nothing
will run because their flow run ended (a caller killed while sending); and it notices flow runs
of this process cancelled from elsewhere.
"""

from __future__ import annotations

import logging
import os
import threading
import time
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


#: The sweep for task runs left behind by ended flow runs reads every task run waiting to start;
#: after a sweep that ended nothing, the next waits this many times as long as it took, so that
#: it costs the heartbeat thread 2% at most, however many runs are in flight (measured: 40 ms on
#: SQLite, 18 ms on PostgreSQL with 100,000 runs waiting; 1 ms with none).
SWEEP_PACE = 50
_next_sweep = 0.0


def reap_dead_runs(*, sweep: bool | None = None) -> int:
    """End CRASHED every run a dead process left (RUNNING, claimed, or not sent by a caller
    that died), and free the slots of dead processes; returns how many runs ended.
    Orchestration decides and writes both.

    ``sweep`` also looks for task runs of any ended flow run that nothing will run (True),
    or not (False); by default, when the pace allows (see SWEEP_PACE).
    """
    global _next_sweep
    from runs.orchestration.ownership import (
        crash_runs_of_dead_owners,
        end_task_runs_of_ended_flow_runs,
    )
    from runs.orchestration.slots import reclaim_dead_slots

    count = crash_runs_of_dead_owners()
    started = time.monotonic()
    if sweep or (sweep is None and started >= _next_sweep):
        ended = end_task_runs_of_ended_flow_runs()
        count += ended
        took = time.monotonic() - started
        _next_sweep = started if ended else started + SWEEP_PACE * took
    reclaim_dead_slots()
    return count


def notice_cancellations() -> None:
    """Make flow runs of this process that were cancelled in the database (API, dashboard)
    take their CANCELLED state, so that they stop."""
    if not active_flow_runs:
        return
    from runs.orchestration.notices import notice_cancellations as notice

    notice(active_flow_runs)
