"""When the request this thread works on reached the web server.

The web server's worker (:mod:`runs.web_worker`) marks the moment a request was queued for a
thread; the load-shedding gate (:mod:`runs.admission`) reads how long it has waited since, so a
request that already waited in the server's queue is not kept waiting again. Without a mark
(Django's test client, another server), a request has waited 0 s.
"""

from __future__ import annotations

import threading
import time

_local = threading.local()


def mark(moment: float | None) -> None:
    """The request this thread is about to handle was queued at ``moment`` (time.monotonic);
    None forgets it."""
    _local.moment = moment


def waited() -> float:
    """Seconds since this thread's request was queued; 0 when unknown."""
    moment = getattr(_local, "moment", None)
    return 0.0 if moment is None else max(0.0, time.monotonic() - moment)
