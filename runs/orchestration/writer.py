"""The write-behind buffer: state rows, run rows and logs reach the database in batches.

Transitions that decide nothing against the database are buffered and written together, by a
background thread every ``FLUSH_INTERVAL`` seconds, when the buffer grows, and whenever a
transition must be decided in the database (``in_transaction``) or a flow run ends. Nothing
buffered is lost on a normal exit: ``flush`` runs at interpreter exit too.

History survives the caller's transactions: a flow called inside ``transaction.atomic()`` (or a
view under ATOMIC_REQUESTS) has its transitions decided and written on runs' history thread,
whose database connection is its own (:func:`apart_from_caller`, :func:`run_apart`), so the
caller rolling back keeps them; the flow's own ORM work stays in the caller's transaction. On
SQLite, which has one writer, the history follows the caller's transaction instead.

A batch the database refuses never stops the history of the process: it is tried once more,
then run by run; a run whose rows still fail is logged once (its id, the table, the database's
error) and set aside, and every other run goes on being recorded. Only a database that cannot
be reached keeps rows waiting, and that is logged once per outage.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from runs.logging import set_log_sink
from runs.orchestration import rows
from runs.orchestration.records import RunRecord
from runs.orchestration.rows import Batch
from runs.process import runtime
from runs.reconnect import dropped
from runs.states import State

T = TypeVar("T")
#: This process's id, kept up to date across forks.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)
FLUSH_INTERVAL = 0.2
MAX_BUFFERED = 2000
#: Rows buffered past which the thread that adds one waits for the buffer to be written
#: (keep_up).
MAX_BACKLOG = 4 * MAX_BUFFERED
#: Longest keep_up waits for the background thread before it goes on (the database may be out
#: of reach: the rows then wait in memory, as they would anyway).
KEEP_UP_WAIT = 5.0
#: Longest the background thread waits between tries while the database cannot be reached.
MAX_UNREACHABLE_WAIT = 5.0

logger = logging.getLogger("runs.writer")


class Writer:
    """Buffers rows; ``flush`` writes them in one transaction, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._runs: dict[Any, tuple[RunRecord, dict[str, Any]]] = {}
        self._states: list[tuple[RunRecord, State]] = []
        self._logs: list[dict[str, Any]] = []
        self._wake = threading.Event()
        #: Notified each time the buffer is taken to be written (keep_up waits on it).
        self._drained = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._pid = 0
        #: Ids of runs whose rows the database refused: their later rows are dropped unwritten.
        self._refused: set[Any] = set()
        #: The latest refusals, newest last: (run id, table, the database's error).
        self.set_aside: deque[tuple[Any, str, str]] = deque(maxlen=100)
        self._unreachable_since: float | None = None

    # ---- adding -------------------------------------------------------------------------
    def add_transition(self, record: RunRecord, state: State) -> None:
        """Buffer the run's current columns and the new state row."""
        if self._refused and self._is_refused(record):
            return
        columns = rows.run_columns(record)
        with self._lock:
            self._runs[record.id] = (record, columns)
            self._states.append((record, state))
            size = len(self._states) + len(self._logs)
        self._ensure_thread()
        if size >= MAX_BUFFERED:
            self._wake.set()

    def add_log(self, row: dict[str, Any]) -> None:
        """Buffer a log row (its name and message are made storable here)."""
        if self._refused and rows.run_id_of_log(row) in self._refused:
            return
        row = rows.log_row(row)
        with self._lock:
            self._logs.append(row)
        self._ensure_thread()

    def keep_up(self) -> None:
        """Wait for the background thread when it has fallen far behind (a busy process makes
        rows faster than it writes them): the buffer, and the records it holds, stay bounded.

        It waits until the background thread takes the buffer to write it (not until it is
        written: the next rows are made meanwhile). The rows are written by the background
        thread, on its one database connection: a pool
        of task threads each writing the buffer itself would open a connection per thread
        (each with its own page cache and statements). A thread inside a transaction of the
        caller's writes them itself (on SQLite the caller's transaction may hold the write
        lock). Call it holding no run's lock; a database that cannot be reached leaves the
        rows waiting, as for the background thread."""
        if len(self._states) + len(self._logs) < MAX_BACKLOG:
            return
        if self._must_write_here():
            try:
                self.flush()
            except Exception:  # unreachable now: the background thread tries again and logs it
                pass
            return
        import time

        deadline = time.monotonic() + KEEP_UP_WAIT
        with self._drained:
            while len(self._states) + len(self._logs) >= MAX_BACKLOG:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._wake.set()
                self._drained.wait(left)

    def _must_write_here(self) -> bool:
        """Whether keep_up must write the buffer in this thread: it is the background thread,
        there is none, or this thread is in a transaction of its own caller's."""
        thread = self._thread
        if thread is None or not thread.is_alive() or threading.current_thread() is thread:
            return True
        from django.db import connections

        connection = connections["default"]
        return connection.connection is not None and connection.in_atomic_block

    def pending(self) -> int:
        with self._lock:
            return len(self._states) + len(self._logs) + len(self._runs)

    # ---- writing ------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered now.

        Raises only when the database cannot be reached; the rows then wait for the next flush.
        """
        if apart_from_caller():
            run_apart(self.flush)
            return
        with self._flush_lock:
            batch = self._drain()
            if not any(batch):
                return
            try:
                self._write_isolating(batch)
            except BaseException:
                self._requeue(batch)
                raise

    def in_transaction(self, decide: Callable[[], T], record: RunRecord | None = None) -> T:
        """Run ``decide`` in a transaction that first writes the buffer (so it sees every earlier
        transition) and then the rows the decision added.

        ``record``'s own buffered rows are held back and written with the decision's rows, in one
        insert instead of an insert and an update. Rows the database refuses are written apart
        (see :meth:`flush`): the decision still stands.
        """
        from django.db import transaction

        with self._flush_lock:
            before = self._drain()
            mine, others = _split(before, record)
            after: Batch = ({}, [], [])
            stage = "others"
            try:
                with transaction.atomic(), _own_transaction():
                    rows.write_batch(others)
                    stage = "decide"
                    result = decide()
                    stage = "own"
                    after = self._drain()
                    rows.write_batch(_merge(mine, after))
            except Exception as exc:
                if dropped(exc):  # nothing was written: the caller may decide again (reconnect)
                    self._requeue(before)
                    raise
                if stage == "decide" or _unreachable(exc):
                    self._requeue(_merge(before, after))
                    raise
                if stage == "others":  # earlier rows were refused: write them apart, then decide
                    self._requeue(mine)
                    self._write_isolating(others)
                    return self.in_transaction(decide, record)
                self._write_isolating(_merge(others, _merge(mine, after)))
                return result
            except BaseException:
                self._requeue(_merge(before, after))
                raise
            rows.mark_persisted(others)
            rows.mark_persisted(after)
            rows.mark_persisted(mine)
            return result

    @contextmanager
    def serialized(self) -> Iterator[None]:
        """Hold off this process's flushes and decisions while the caller writes on its own.

        On SQLite, where the database has one write lock, a short write transaction of the
        orchestration's (a concurrency slot) then never waits for the lock in SQLite's busy
        handler, which sleeps whole milliseconds; elsewhere it is free to run beside them.
        """
        from django.db import connection

        if connection.vendor != "sqlite":
            yield
            return
        with self._flush_lock:
            yield

    def _write_isolating(self, batch: Batch) -> None:
        """Write ``batch``; if the database refuses it twice, write it run by run and set aside
        the runs it still refuses. Raises only when the database cannot be reached."""
        for _ in range(2):
            try:
                _write_committed(batch)
                return
            except Exception as exc:
                if _unreachable(exc):
                    raise
        for unit in _units(batch):
            if self._refused and any(self._is_refused(r) for r, _ in unit[0].values()):
                continue  # its flow run was set aside a moment ago
            try:
                _write_committed(unit)
            except Exception as exc:
                if _unreachable(exc):
                    raise
                self._refuse(unit, exc)

    def _is_refused(self, record: RunRecord) -> bool:
        """Whether the run's rows, or its flow run's, were set aside."""
        refused = self._refused
        return record.id in refused or getattr(record, "flow_run_id", None) in refused

    def _refuse(self, unit: Batch, exc: Exception) -> None:
        run_id = next(iter(unit[0]), None)
        if run_id is None and unit[2]:
            run_id = rows.run_id_of_log(unit[2][0])
        table = getattr(exc, "runs_table", "") or "the run history"
        error = " ".join(str(exc).split()) or type(exc).__name__
        with self._lock:
            if run_id is not None:
                self._refused.add(run_id)
        self.set_aside.append((run_id, table, error))
        logger.error(
            "Could not record run %s: the database refused a row of %s (%s: %s). This run's "
            "history is set aside; other runs go on being recorded.",
            run_id,
            table,
            type(exc).__name__,
            error,
        )

    def _drain(self) -> Batch:
        with self._lock:
            batch = (self._runs, self._states, self._logs)
            self._runs, self._states, self._logs = {}, [], []
        with self._drained:
            self._drained.notify_all()
        return batch

    def _requeue(self, batch: Batch) -> None:
        runs, states, logs = batch
        with self._lock:
            for key, value in runs.items():
                self._runs.setdefault(key, value)
            self._states[:0] = states
            self._logs[:0] = logs

    # ---- background ---------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        import os

        if self._thread is not None and self._pid == _pid:  # asked for every row: no getpid
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = runtime.ensure("writer", self._loop)

    def _loop(self) -> None:
        while True:
            wait = FLUSH_INTERVAL
            if self._unreachable_since is not None:
                wait = MAX_UNREACHABLE_WAIT
            self._wake.wait(wait)
            self._wake.clear()
            self._flush_in_background()

    def _flush_in_background(self) -> None:
        import time

        from django.db import close_old_connections

        try:
            self.flush()
        except Exception as exc:
            close_old_connections()
            if self._unreachable_since is None:
                self._unreachable_since = time.monotonic()
                logger.error(
                    "Could not reach the database to write run history (%s: %s); %d rows wait "
                    "and are tried again every %g s.",
                    type(exc).__name__,
                    exc,
                    self.pending(),
                    MAX_UNREACHABLE_WAIT,
                )
            return
        if self._unreachable_since is not None:
            logger.warning(
                "Run history is written again after %.0f s.",
                time.monotonic() - self._unreachable_since,
            )
            self._unreachable_since = None


_apart_lock = threading.Lock()
_apart_executor: Any = None
_apart_pid = 0
_apart_ident: int | None = None


#: Per thread: how deep it is in transactions the writer opened itself.
_own = threading.local()


@contextmanager
def _own_transaction() -> Iterator[None]:
    _own.depth = getattr(_own, "depth", 0) + 1
    try:
        yield
    finally:
        _own.depth -= 1


def apart_from_caller() -> bool:
    """Whether this thread is inside a transaction that is not the writer's own (the host's
    ``atomic()``), so run history must be written on runs' history thread to outlive a
    rollback.

    Never on SQLite: it has one writer, and the caller's transaction may hold the write lock
    (runs' own settings begin every transaction IMMEDIATE), so history written apart would
    wait for a lock its own caller holds. There the history follows the caller's transaction.
    """
    if _vendor() == "sqlite":  # asked three times per task run: no connection lookup here
        return False
    from django.db import connection

    return (
        connection.in_atomic_block
        and not getattr(_own, "depth", 0)
        and threading.get_ident() != _apart_ident
    )


_db_vendor: str | None = None


def _vendor() -> str:
    """The vendor of the default database (it does not change while the process lives)."""
    global _db_vendor
    if _db_vendor is None:
        from django.db import connections

        _db_vendor = connections["default"].vendor
    return _db_vendor


def run_apart(fn: Callable[[], T]) -> T:
    """Run ``fn`` on runs' history thread, whose database connection is its own, and wait."""
    import contextvars
    import os
    from concurrent.futures import ThreadPoolExecutor

    global _apart_executor, _apart_pid
    with _apart_lock:
        if _apart_executor is None or _apart_pid != os.getpid():
            _apart_executor = ThreadPoolExecutor(1, thread_name_prefix="runs-history")
            _apart_pid = os.getpid()
        executor = _apart_executor
    context = contextvars.copy_context()
    return executor.submit(context.run, _on_history_thread, fn).result()


def _on_history_thread(fn: Callable[[], T]) -> T:
    global _apart_ident
    _apart_ident = threading.get_ident()
    return fn()


def _write_committed(batch: Batch) -> None:
    from django.db import transaction

    with transaction.atomic(), _own_transaction():
        rows.write_batch(batch)
    rows.mark_persisted(batch)


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now (so the rows should wait), rather
    than that it refuses these rows."""
    from django.db import InterfaceError, OperationalError, connection

    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


def _units(batch: Batch) -> list[Batch]:
    """The batch run by run (each run with its states and logs), in the order they came."""
    runs, states, logs = batch
    units: dict[Any, Batch] = {}
    for run_id, value in runs.items():
        units[run_id] = ({run_id: value}, [], [])
    for record, state in states:
        units.setdefault(record.id, ({}, [], []))[1].append((record, state))
    for row in logs:
        units.setdefault(rows.run_id_of_log(row), ({}, [], []))[2].append(row)
    return list(units.values())


def _split(batch: Batch, record: RunRecord | None) -> tuple[Batch, Batch]:
    """(the batch's rows of ``record``, the rest)."""
    runs, states, logs = batch
    if record is None or record.id not in runs:
        return ({}, [], []), batch
    mine_runs = {record.id: runs[record.id]}
    other_runs = {k: v for k, v in runs.items() if k != record.id}
    mine_states = [item for item in states if item[0] is record]
    other_states = [item for item in states if item[0] is not record]
    return (mine_runs, mine_states, []), (other_runs, other_states, logs)


def _merge(first: Batch, second: Batch) -> Batch:
    runs = {**first[0], **second[0]}
    return runs, first[1] + second[1], first[2] + second[2]


writer = Writer()
set_log_sink(writer.add_log)


def _flush_at_exit() -> None:
    try:
        if writer.pending():
            writer.flush()
    except Exception as exc:  # the database may be gone at exit; nothing more can be done
        logger.error("Could not write the last run history at exit: %s", exc)


# First of the process's exit steps: the runs' last states, while their slots and lease hold.
runtime.on_stop("writer", _flush_at_exit)
