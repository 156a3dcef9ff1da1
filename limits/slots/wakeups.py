"""Waking the runs that wait for a slot: in this process at once, in others soon.

A run that frees a slot wakes the waiters of this process through a condition variable, and
those of other processes through PostgreSQL ``NOTIFY`` (heard by a :class:`Listener` thread
in each process) or, on SQLite, by their short poll (``poll_seconds``). A waiter remembers the
wake-up generation from before it was told to wait, so a slot freed between "wait" and
:meth:`Wakeups.wait` still wakes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from runs.process import runtime

logger = logging.getLogger("runs.limits")

#: How often a waiter looks again when nothing can wake it from another process (SQLite).
POLL_SECONDS = 0.1
#: PostgreSQL: a slot was freed (sent when a release commits, so it arrives when it is free).
NOTIFY_CHANNEL = "runs_slots"
#: PostgreSQL: carries the tag a run waits for, so that processes holding its slots free them.
WANTED_CHANNEL = "runs_slots_wanted"


class Wakeups:
    """This process's wake-ups, and the runs of this process that were told to wait."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        #: Goes up by one with every wake-up; a waiter sleeps until it changes.
        self.generation = 0
        self._released = threading.Condition()
        # The generation seen when a run was told to wait, so that a slot freed between that
        # decision and the start of wait() still wakes it.
        self._marks: dict[str, int] = {}
        # Runs this process was told to wait for: their next try reads before it takes a lock.
        self._waiting: set[str] = set()
        self._callbacks: list[Callable[[], None]] = []

    def on_wake(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` with every wake-up (in the thread that wakes: it must be quick)."""
        self._callbacks.append(callback)

    def wake(self) -> None:
        """Wake every waiter of this process now."""
        with self._released:
            self.generation += 1
            self._released.notify_all()
        for callback in self._callbacks:
            callback()

    def told_to_wait(self, task_run_id: Any, seen: int) -> None:
        """Remember that the run was told to wait, and the generation seen before deciding."""
        with self._released:
            if len(self._marks) > 10_000:  # runs re-queued elsewhere never came back here
                self._marks.clear()
                self._waiting.clear()
            self._marks[str(task_run_id)] = seen
            self._waiting.add(str(task_run_id))

    def is_waiting(self, task_run_id: Any) -> bool:
        """Whether this process last told the run to wait."""
        return str(task_run_id) in self._waiting

    def stopped_waiting(self, task_run_id: Any) -> None:
        """The run was answered otherwise than "wait" (its wake-up mark may still be used)."""
        self._waiting.discard(str(task_run_id))

    def forget(self, task_run_id: Any) -> None:
        """The run left every queue: forget its mark and that it waits."""
        if self._marks or self._waiting:
            with self._released:
                self._marks.pop(str(task_run_id), None)
                self._waiting.discard(str(task_run_id))

    def wait(self, task_run_id: Any, timeout: float, woken_from_elsewhere: bool) -> None:
        """Sleep until a wake-up after the run was told to wait, at most ``timeout`` seconds;
        without wake-ups from other processes, at most ``poll_seconds``."""
        wait = timeout if woken_from_elsewhere else min(timeout, self.poll_seconds)
        with self._released:
            seen = self._marks.pop(str(task_run_id), self.generation)
            self._released.wait_for(lambda: self.generation != seen, timeout=max(wait, 0.001))


class Listener:
    """A thread that LISTENs on PostgreSQL and turns ``NOTIFY`` into a local wake-up.

    After each read (at least every ``tick()`` seconds) it calls ``after_read(connection,
    wanted)``, ``wanted`` telling whether a run elsewhere announced it waits; the tag it waits
    for goes to ``on_wanted``. The thread is started on first need by :meth:`ensure`, which
    anyone may call to start it earlier.
    """

    def __init__(
        self,
        wakeups: Wakeups,
        connect: Callable[[], Any],
        on_wanted: Callable[[str], None],
        after_read: Callable[[Any, bool], None],
        tick: Callable[[], float],
    ) -> None:
        self._wakeups = wakeups
        self._connect = connect
        self._on_wanted = on_wanted
        self._after_read = after_read
        self._tick = tick
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def is_alive(self) -> bool:
        """Whether the thread is listening (it dies with its connection, and in a forked child)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def ensure(self) -> bool:
        """Start the thread unless it runs; whether it listens (False if LISTEN failed)."""
        if self.is_alive():
            return True
        with self._lock:  # threads starting their first limited runs together start one
            return self.is_alive() or self._start()

    def _start(self) -> bool:
        try:
            connection = self._connect()
            connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            connection.execute(f"LISTEN {WANTED_CHANNEL}")
        except Exception:
            logger.debug("LISTEN unavailable; waiters poll", exc_info=True)
            return False
        self._thread = runtime.ensure("slot-listener", self._listen, connection)
        return True

    def _listen(self, connection: Any) -> None:
        try:
            while True:
                wanted = False
                # One packet at a time, each read whole (leaving the generator early would drop
                # the rest of its packet, a wake-up among them), then the housekeeping.
                for notify in connection.notifies(timeout=self._tick(), stop_after=1):
                    if notify.channel == WANTED_CHANNEL:
                        self._on_wanted(notify.payload)
                        wanted = True
                        continue
                    self._wakeups.wake()
                self._after_read(connection, wanted)
        except Exception:
            logger.debug("LISTEN connection closed", exc_info=True)
