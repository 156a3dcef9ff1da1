"""SQLite connections: the database file is switched to WAL once, even when many processes
open a new file at the same moment.

WAL is kept in the database file, so it needs setting only once, but switching to it takes an
exclusive lock, and SQLite answers "database is locked" at once, without waiting out the busy
timeout, when two connections try to switch together (each holds a shared lock the other must
wait for). Three scripts started together on a new ``RUNS_HOME`` hit this. Each new connection
therefore reads the journal mode first, and while it is not yet WAL, tries to switch and on
that error tries again after a short pause, until another process's switch is seen.
"""

from __future__ import annotations

import sqlite3
import time

from django.db.backends.signals import connection_created
from django.dispatch import receiver

#: Largest size the WAL file keeps after a checkpoint lets SQLite start it over (bytes). Without
#: it the file stays as large as it ever grew: as large as the history itself after a long
#: flow run, while the database keeps readers busy. The size of SQLite's automatic checkpoint
#: (1,000 pages of 4 KiB): the file then keeps what it grows to again before each checkpoint.
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024

#: How long a new connection keeps trying to switch the file to WAL (the busy timeout's length).
WAL_PATIENCE_SECONDS = 60.0
_RETRY_PAUSE_SECONDS = 0.005


def use_wal(conn: sqlite3.Connection, patience: float = WAL_PATIENCE_SECONDS) -> str:
    """Put the database of ``conn`` in WAL mode and return its journal mode afterwards.

    An in-memory database has no WAL; its mode ("memory") is returned unchanged.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode in ("wal", "memory"):
                return mode
            return conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_PAUSE_SECONDS)


@receiver(connection_created, dispatch_uid="runs.sqlite.use_wal")
def _on_connection_created(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        from runs.bootstrap import secure_files

        secure_files()  # before WAL makes the -wal and -shm files, with the database's mode
        use_wal(connection.connection)
        connection.connection.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
