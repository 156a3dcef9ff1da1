"""Deferred release (PostgreSQL): a finished run's slot freed with the next statement.

On PostgreSQL, where a round trip costs more than the rest of a short task run, the slot of a
run that reached a final state while nobody waited for its tags is not freed by a statement of
its own: it goes with this process's next slot statement (one round trip for "free the last,
take the next"), or the listener thread frees it within ``max_delay`` seconds, and the end of a
flow run frees what is left. Holding a slot a little longer can make a newcomer wait, never
lets one run too many. A run that waits announces its tag: every process's listener then frees
at once what it holds back, and releases of that tag stop being deferred in that process until
it next finds nobody queued for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

#: The longest a slot stays held after its run ended when nobody waits for it.
DEFERRED_RELEASE_SECONDS = 0.1


class DeferredReleases:
    """This process's held-back releases, and the tags somebody was seen waiting for."""

    def __init__(self, max_delay: float = DEFERRED_RELEASE_SECONDS) -> None:
        self.max_delay = max_delay
        self._runs: list = []
        self._since = 0.0
        self._lock = threading.Lock()
        self._contended: set[str] = set()
        self._in_flight = 0  # frees taken by a thread and not yet committed
        self._settled = threading.Condition(self._lock)

    @property
    def pending(self) -> bool:
        """Whether some release is held back."""
        return bool(self._runs)

    @property
    def in_flight(self) -> bool:
        """Whether a thread is freeing releases it took from here."""
        return self._in_flight > 0

    def contended(self, tag: str) -> None:
        """A run (of any process) waits for ``tag``: its releases are no longer deferred."""
        self._contended.add(tag)

    def uncontended(self, tags: Iterable[str]) -> None:
        """Nobody was queued for ``tags`` just now: their releases may be deferred again."""
        self._contended.difference_update(tags)

    def may_defer(self, tags: Iterable[str]) -> bool:
        """Whether nobody is known to wait for any of ``tags``."""
        return self._contended.isdisjoint(tags)

    def defer(self, run_params: list) -> None:
        """Hold back the release of these runs' slots (their ids as the database takes them)."""
        if not run_params:
            return
        with self._lock:
            if not self._runs:
                self._since = time.monotonic()
            self._runs.extend(run_params)

    @contextmanager
    def taken(self) -> Iterator[list]:
        """The runs held back, now this caller's to free inside the block (committed when it
        ends); if the block fails they are held back again. :meth:`wait_settled` waits for
        such blocks."""
        with self._lock:
            taken = list(self._runs)
            self._runs.clear()
            if taken:
                self._in_flight += 1
        try:
            yield taken
        except BaseException:
            self.defer(taken)
            raise
        finally:
            if taken:
                with self._lock:
                    self._in_flight -= 1
                    self._settled.notify_all()

    def wait_settled(self, timeout: float = 5.0) -> None:
        """Wait until no thread is freeing what it took from here (at a flow run's end: its
        slots are all given back when it returns)."""
        with self._lock:
            self._settled.wait_for(lambda: self._in_flight == 0, timeout)

    def due(self, wanted: bool) -> bool:
        """Whether what is held back should be freed now: somebody waits, or it waited long."""
        return bool(self._runs) and (wanted or time.monotonic() - self._since >= self.max_delay)

    def free_with(self, free: Callable[[list], object]) -> None:
        """Free what is held back with ``free(run_params)``; if that fails it stays held back."""
        with self.taken() as freeing:
            if freeing:
                free(freeing)

    def forget(self) -> None:
        """In a forked child: the parent frees its own."""
        self._lock = threading.Lock()  # another thread of the parent may have held it
        self._settled = threading.Condition(self._lock)
        self._in_flight = 0
        self._runs.clear()
        self._since = 0.0
