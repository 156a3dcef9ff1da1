"""gunicorn's threaded worker, marking when each request was queued for a thread.

``runs up`` serves with ``--worker-class runs.web_worker.ThreadWorker``. Under load a request
can wait in the worker's queue before a thread takes it; the mark lets the load-shedding gate
(:mod:`runs.admission`) count that wait against RUNS_WEB_QUEUE_SECONDS, so a request that
waited too long is answered 503 at once instead of waiting again for a place.
"""

from __future__ import annotations

import sys
import time

from gunicorn.workers.gthread import ThreadWorker as GthreadWorker

from runs import arrivals

#: Seconds a thread runs before Python hands the GIL to another (5 ms by default). Shorter, a
#: thread answering 503 or the worker's accept loop is not kept waiting behind pages being
#: rendered: measured under 1,000 clients, it halved the 503s' latency.
SWITCH_INTERVAL_SECONDS = 0.001


class ThreadWorker(GthreadWorker):
    """gunicorn's ``gthread`` worker; each connection notes when it was queued."""

    def init_process(self) -> None:  # noqa: D102
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        super().init_process()

    def enqueue_req(self, conn) -> None:  # noqa: D102
        conn.runs_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):  # noqa: D102
        arrivals.mark(getattr(conn, "runs_queued_at", None))
        try:
            return super().handle(conn)
        finally:
            arrivals.mark(None)
