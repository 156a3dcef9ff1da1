"""Make Django ready for a plain script: configure settings, set up apps, migrate a new database.

``import runs`` stays cheap; the first flow call (or anything that needs the database) calls
:func:`ensure_ready`, once per process.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_ready = False
_lock = threading.Lock()


def ensure_ready() -> None:
    """Configure Django with ``project.settings`` unless already configured, and migrate if needed."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import django
        from django.apps import apps
        from django.conf import settings

        from runs import conf

        try:
            conf.validate_all()
        except conf.SettingError as exc:
            # The message says all; conf's parsing frames would only bury it.
            raise exc.with_traceback(None) from None

        if not settings.configured:
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        if not apps.ready:
            django.setup()
        migrate_if_needed()
        _ready = True


def _unapplied_migrations() -> list:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return executor.migration_plan(targets)


def migrate_if_needed() -> bool:
    """Apply pending migrations under a lock that other processes respect; True if any ran."""
    from django.core.management import call_command

    if not _unapplied_migrations():
        return False
    with _migration_lock():
        if not _unapplied_migrations():  # another process migrated while we waited
            return False
        call_command("migrate", interactive=False, verbosity=0)
    return True


@contextmanager
def _migration_lock() -> Iterator[None]:
    """A file lock under RUNS_HOME, plus an advisory lock when the database is PostgreSQL."""
    from django.db import connection

    from runs import conf

    home = conf.settings.RUNS_HOME
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_lock(727274)")
                try:
                    yield
                finally:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(727274)")
            else:
                yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
