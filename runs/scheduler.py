"""The scheduler loop: deployments' runs made ahead, Late runs marked, queued runs sent.

Stateless: any number may run at once (a scheduled time gets one run whichever scheduler makes
it, and a queue gives a place once). ``runs scheduler`` runs it; ``runs up`` starts one.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from runs import conf

logger = logging.getLogger("runs.scheduler")


@dataclass(frozen=True)
class PassResult:
    """What one pass did."""

    caught_up: int = 0
    skipped: int = 0
    created: int = 0
    late: int = 0
    dispatched: int = 0
    #: The deployments the runs made are for (None: not known).
    deployments: int | None = None

    def did_something(self) -> bool:
        return any((self.caught_up, self.skipped, self.created, self.late, self.dispatched))

    def summary(self) -> str:
        parts = []
        if self.caught_up or self.skipped:
            parts.append(
                f"caught up: made {_runs(self.caught_up)} for missed times, skipped {self.skipped}"
            )
        made = f"made {_runs(self.created)} ahead"
        if self.created and self.deployments:
            made += f" for {self.deployments} deployment{'' if self.deployments == 1 else 's'}"
        parts.append(made)
        parts.append(f"marked {self.late} Late")
        parts.append(f"sent {_runs(self.dispatched)} to workers")
        return "; ".join(parts)


def _runs(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'}"


def run_pass(*, first: bool = False, now: dt.datetime | None = None) -> PassResult:
    """One pass: catch-up (on a scheduler's ``first`` pass), runs made ahead, Late runs marked,
    then the queues' waiting runs sent."""
    from runs.services.dispatch import dispatch
    from runs.services.scheduling import catch_up, make_runs_ahead, mark_late_runs

    caught_up = skipped = 0
    if first:
        result = catch_up(now)
        caught_up, skipped = result.created, result.skipped
    made = make_runs_ahead(now)
    late = mark_late_runs(now)
    dispatched = dispatch()
    return PassResult(caught_up, skipped, made.runs, late, dispatched, made.deployments)


def run_forever(
    *,
    loop_seconds: float | None = None,
    stop: threading.Event | None = None,
    on_pass: Callable[[PassResult], None] | None = None,
) -> None:
    """Run a pass every ``loop_seconds`` (RUNS_SCHEDULER_LOOP_SECONDS) until ``stop`` is set or
    SIGTERM/SIGINT arrives (in the main thread). A failed pass is logged and tried again."""
    stop = stop or threading.Event()
    seconds = loop_seconds or conf.settings.RUNS_SCHEDULER_LOOP_SECONDS
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    first = True
    while not stop.is_set():
        try:
            result = run_pass(first=first)
            first = False
            if result.did_something():
                logger.info("Scheduler pass: %s.", result.summary())
            if on_pass is not None:
                on_pass(result)
        except Exception:
            logger.exception("The scheduler pass failed; trying again in %s s.", seconds)
        finally:
            _close_connections()
        stop.wait(seconds)


def _close_connections() -> None:
    """Let go of a connection the database closed or that went bad between passes."""
    try:
        from django.db import close_old_connections

        close_old_connections()
    except Exception:  # pragma: no cover - only reached without Django set up
        pass
