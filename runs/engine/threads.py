"""Sync runs called from async code: the ORM may not run on an event loop's thread."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any


def in_event_loop() -> bool:
    """Whether this thread is running an event loop (asked once per task call: no exception
    raised and caught when it is not, as ``get_running_loop`` would)."""
    return asyncio._get_running_loop() is not None


def run_in_thread(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` in a new thread with this context's variables, wait for it and return its
    value (or raise its exception) here."""
    context = contextvars.copy_context()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = context.run(fn)
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="runs-sync-task")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
