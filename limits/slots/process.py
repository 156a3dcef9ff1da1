"""This process's slot state, in one object: its wake-ups, its deferred releases and the store
of its database, chosen once by the database's vendor."""

from __future__ import annotations

import logging
import threading

from runs.process import runtime
from runs_limits.slots.deferred import DeferredReleases
from runs_limits.slots.store import SlotStore
from runs_limits.slots.wakeups import Wakeups

logger = logging.getLogger("runs.limits")


class ProcessSlots:
    """What one process knows about slots beyond the database (one instance per process)."""

    def __init__(self) -> None:
        self.wakeups = Wakeups()
        self.deferred = DeferredReleases()
        self._store: SlotStore | None = None
        self._store_lock = threading.Lock()

    def store(self) -> SlotStore:
        """The store of this process's database (made on first use, then the same one)."""
        store = self._store
        if store is None:
            store = self._open_store()
        return store

    def _open_store(self) -> SlotStore:
        from django.db import connection

        with self._store_lock:  # one store, so one listener thread, per process
            if self._store is None:
                if connection.vendor == "postgresql":
                    from runs_limits.slots.postgres import PostgresStore

                    self._store = PostgresStore(self.wakeups, self.deferred)
                else:
                    from runs_limits.slots.sqlite import SqliteStore

                    self._store = SqliteStore(self.wakeups, self.deferred)
            return self._store

    def after_fork_in_child(self) -> None:
        """In a forked child: the parent frees what it deferred; the child starts its own
        listener when it needs one (the parent's thread did not come along)."""
        self.deferred.forget()

    def release_deferred_at_exit(self) -> None:
        """Free what this process held back, if the database still answers."""
        if not self.deferred.pending:
            return
        try:
            self.store().release_deferred()
        except Exception as exc:  # the database may be gone; the slots' owner is then dead anyway
            logger.error("Could not free deferred concurrency slots at exit: %s", exc)


this_process = ProcessSlots()
runtime.on_fork("slots", this_process.after_fork_in_child)
# After the writer's flush, before the heartbeat stops (runs.process.STOP_ORDER).
runtime.on_stop("slots", this_process.release_deferred_at_exit)
