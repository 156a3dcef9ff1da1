"""A database connection dropped under a process (a proxy's idle timeout, a failover, an
administrator's ``pg_terminate_backend``) is opened again, once, instead of failing a run.

Django opens a connection lazily but never replaces one that died between two statements: the
next statement fails, and so does every one after it until the connection is closed. The
places that can safely do their work again call :func:`once_reopened`; the writer asks
:func:`dropped` to know that a failed transaction may be decided again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger("runs.db")

T = TypeVar("T")

#: SQLSTATE class 08: connection exceptions.
CONNECTION_ERRORS = "08"
#: The server ended the session: an administrator, a crash shutdown, a server still starting.
SHUTDOWNS = frozenset({"57P01", "57P02", "57P03"})


def dropped(exc: BaseException) -> bool:
    """Whether ``exc`` says this thread's connection was lost (rather than that a statement was
    refused): PostgreSQL's connection errors and shutdowns, or no answer from the server at all.

    Read from the error, not the connection: leaving a failed ``atomic()`` block, Django has
    already opened a new one. SQLite has no connection to lose.
    """
    from django.db import InterfaceError, OperationalError, connection

    if connection.vendor == "sqlite":
        return False
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if not code:
        return True  # lost on the client's side: the server said nothing
    return code.startswith(CONNECTION_ERRORS) or code in SHUTDOWNS


def reopen(exc: BaseException) -> bool:
    """Close the dropped connection so that the next statement opens a new one. False (nothing
    done) inside a transaction, whose earlier statements died with the connection."""
    from django.db import connection

    if connection.in_atomic_block:
        return False
    logger.warning("The database connection was dropped (%s); opening a new one.", exc)
    connection.close()
    return True


def once_reopened(work: Callable[[], T], undo: Callable[[], None] | None = None) -> T:
    """``work()``; if the connection turns out to be dropped, ``undo()`` what the first try
    changed in memory (if given) and ``work()`` again on a new connection. For work that is
    safe to do twice (reads, idempotent claims, a transaction that rolled back)."""
    from django.db import DatabaseError

    try:
        return work()
    except DatabaseError as exc:
        if not (dropped(exc) and reopen(exc)):
            raise
    if undo is not None:
        undo()
    return work()
