"""Flows that the work-queue tests start on real workers."""

from __future__ import annotations

import os
import time

from runs import flow


@flow(name="queue-nap")
def nap(seconds: float = 0.2) -> int:
    """Sleeps, then returns the worker process's pid."""
    time.sleep(seconds)
    return os.getpid()
