"""The process runtime: the one owner of this process's background threads.

The write-behind writer, the heartbeat, the slot listener and a worker's housekeeping loops
each need one daemon thread per process. They ask :data:`runtime` for it by name instead of
starting their own, so that each is started once, a forked child (a Celery pool process)
forgets the threads it did not inherit and starts its own when asked, and the steps that must
run at exit run once, in an order that loses nothing: the writer flushes first (the runs'
last states), then deferred concurrency slots are freed, then the heartbeat stops (so the
lease stays fresh, and no other process reaps these runs, until their history is written).

This module imports nothing from the project, so every layer can use it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger("runs.process")

#: Exit steps that run first, in this order; any other step runs after them, in the order
#: it was registered.
STOP_ORDER = ("writer", "slots", "heartbeat")


class ProcessRuntime:
    """Named daemon threads started once per process, fork hooks, and ordered exit steps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._stop_steps: dict[str, Callable[[], None]] = {}
        self._fork_hooks: dict[str, Callable[[], None]] = {}
        self._stopped = False

    def ensure(self, name: str, target: Callable[..., object], *args: object) -> threading.Thread:
        """The thread named ``name`` of this process, started now on ``target(*args)`` unless
        one is alive (a thread that ended, as a listener whose connection closed, is started
        again). Threads are daemons named ``runs-<name>``."""
        thread = self._threads.get(name)
        if thread is not None and thread.is_alive():
            return thread
        with self._lock:  # callers starting their first runs together start one thread
            thread = self._threads.get(name)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(
                    target=target, args=args, name=f"runs-{name}", daemon=True
                )
                thread.start()
                self._threads[name] = thread
        return thread

    def running(self) -> dict[str, threading.Thread]:
        """The threads of this process that are alive, by name."""
        return {name: t for name, t in list(self._threads.items()) if t.is_alive()}

    def on_stop(self, name: str, step: Callable[[], None]) -> None:
        """Run ``step`` once when the process stops (at exit, or at :meth:`stop`); a later
        step of the same name replaces it. Names in STOP_ORDER set its place."""
        with self._lock:
            self._stop_steps[name] = step

    def on_fork(self, name: str, hook: Callable[[], None]) -> None:
        """Run ``hook`` in a forked child, after its inherited threads are forgotten."""
        with self._lock:
            self._fork_hooks[name] = hook

    def stop_order(self) -> list[str]:
        """The names of the exit steps in the order :meth:`stop` runs them."""
        with self._lock:
            names = list(self._stop_steps)
        return [n for n in STOP_ORDER if n in names] + [n for n in names if n not in STOP_ORDER]

    def stop(self) -> None:
        """Run the exit steps once, in STOP_ORDER first; a step that fails is logged and the
        others still run."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            steps = dict(self._stop_steps)
        for name in self.stop_order():
            try:
                steps[name]()
            except Exception:
                logger.exception("The exit step %r of this process failed", name)

    def after_fork_in_child(self) -> None:
        """In a forked child: only the forking thread came along, so forget the others (they
        start again when asked), take a fresh lock (another thread may have held it), allow the
        exit steps to run in this process, and run the fork hooks."""
        self._lock = threading.Lock()
        self._threads = {}
        self._stopped = False
        for name, hook in list(self._fork_hooks.items()):
            try:
                hook()
            except Exception:
                logger.exception("The fork hook %r failed in process %d", name, os.getpid())


runtime = ProcessRuntime()
os.register_at_fork(after_in_child=runtime.after_fork_in_child)
atexit.register(runtime.stop)
