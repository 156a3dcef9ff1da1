"""Load shedding: each web server process works on a few requests at once and answers the rest
with a quick 503 instead of letting them queue for half a minute.

A process has RUNS_WEB_MAX_IN_FLIGHT places. A request takes one for as long as the views work
on it; when none is free it waits for one until RUNS_WEB_QUEUE_SECONDS have passed since it
reached the server (the time it waited in the server's own queue counts, see
:mod:`runs.web_worker`), then is answered 503 with ``Retry-After`` (JSON under /api/, a short
page elsewhere) without touching the session or the database. The web server runs more threads
than there are places (``runs.cli.up.web_server_command``), so requests reach this gate quickly.
"""

from __future__ import annotations

import logging
import threading
import time

from django.http import HttpRequest, HttpResponse, JsonResponse

from runs import arrivals, conf

logger = logging.getLogger(__name__)

#: Seconds a refused client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 1

BUSY_DETAIL = (
    "The server is busy: it is answering as many requests as it can. Try again in "
    f"{RETRY_AFTER_SECONDS} s (Retry-After); if this persists, ask the administrator to raise "
    "RUNS_WEB_MAX_IN_FLIGHT or --web-workers."
)
BUSY_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    f'<meta http-equiv=refresh content="{RETRY_AFTER_SECONDS + 1}">'
    "<title>Busy, retrying</title></head><body><h1>The server is busy</h1>"
    "<p>Too many requests are being answered right now. This page tries again in a moment."
    "</p></body></html>"
)


class Gate:
    """At most ``limit`` holders at once; :meth:`enter` waits up to ``patience`` seconds."""

    def __init__(self, limit: int, patience: float) -> None:
        self.limit = limit
        self.patience = patience
        self._places = threading.BoundedSemaphore(limit)

    def enter(self, waited: float = 0.0) -> bool:
        """Take a place, waiting at most what is left of ``patience`` after ``waited`` seconds
        already spent in the server's queue; whether one was taken."""
        if self._places.acquire(blocking=False):
            return True
        left = self.patience - waited
        return left > 0 and self._places.acquire(timeout=left)

    def leave(self) -> None:
        """Give back a place taken by :meth:`enter`."""
        self._places.release()


_gate: Gate | None = None
_gate_lock = threading.Lock()


def process_gate() -> Gate:
    """This process's gate, made from the settings on first use."""
    global _gate
    with _gate_lock:
        if _gate is None:
            _gate = Gate(conf.settings.RUNS_WEB_MAX_IN_FLIGHT, conf.settings.RUNS_WEB_QUEUE_SECONDS)
        return _gate


def reset_process_gate() -> None:
    """Forget the gate, so the next request makes one from the settings in force (tests)."""
    global _gate
    with _gate_lock:
        _gate = None


def busy_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON ``{"detail": ...}`` under /api/, a short page elsewhere."""
    from runs.api.middleware import api_prefix

    if request.path_info.startswith(api_prefix()):
        response: HttpResponse = JsonResponse({"detail": BUSY_DETAIL}, status=503)
    else:
        response = HttpResponse(BUSY_PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(len(response.content))
    # Django would log each refusal as a server error: thousands of lines under load. One
    # line now and then says how many were refused (see note_refusal).
    response._has_been_logged = True
    return response


class RefusalNotes:
    """Counts refusals and logs one warning line per ``every`` seconds at most."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._count = 0
        self._last = float("-inf")

    def note(self) -> None:
        """Count one refusal; log the count when ``every`` seconds passed since the last line."""
        with self._lock:
            self._count += 1
            moment = time.monotonic()
            if moment - self._last < self.every:
                return
            count, self._count, self._last = self._count, 0, moment
        logger.warning(
            "Busy: answered %d request(s) 503 (more than RUNS_WEB_MAX_IN_FLIGHT=%d at once for "
            "over RUNS_WEB_QUEUE_SECONDS=%g s in this process).",
            count,
            conf.settings.RUNS_WEB_MAX_IN_FLIGHT,
            conf.settings.RUNS_WEB_QUEUE_SECONDS,
        )


_refusals = RefusalNotes()


class AdmitOrShed:
    """Middleware: the request takes one of the process's places, or is answered 503 at once."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:  # noqa: D102
        gate = process_gate()
        if not gate.enter(arrivals.waited()):
            _refusals.note()
            return busy_response(request)
        try:
            return self.get_response(request)
        finally:
            gate.leave()
