"""Make Django ready for a plain script: configure settings, set up apps, migrate a new database.

``import runs`` stays cheap; the first flow call (or anything that needs the database) calls
:func:`ensure_ready`, once per process. It also keeps RUNS_HOME owner-only (:func:`secure_files`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runs.private_files import describe, make_private, open_private, private_dir

logger = logging.getLogger("runs.files")

_ready = False
_lock = threading.Lock()
_secured = False
_secure_lock = threading.Lock()


#: runs' own settings module: a process configured with it is runs' own project.
OWN_SETTINGS_MODULE = "runs_project.settings"


class NotMigratedError(RuntimeError):
    """runs is an app of a host project whose database lacks runs' tables."""


def self_configured() -> bool:
    """Whether Django runs (or will run) with runs' own settings, not a host project's."""
    from django.conf import settings

    if settings.configured:
        return getattr(settings, "SETTINGS_MODULE", None) == OWN_SETTINGS_MODULE
    return os.environ.get("DJANGO_SETTINGS_MODULE", OWN_SETTINGS_MODULE) == OWN_SETTINGS_MODULE


def ensure_ready() -> None:
    """Configure Django with ``runs_project.settings`` unless already configured, and migrate if needed.

    In a host project (Django configured with another settings module) runs never migrates:
    when its tables are missing or behind, :class:`NotMigratedError` says to run
    ``python manage.py migrate``.
    """
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

        private_dir(conf.settings.RUNS_HOME)  # before the settings make it with the umask's mode
        if not settings.configured:
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", OWN_SETTINGS_MODULE)
        if not apps.ready:
            django.setup()
        secure_files()
        if self_configured():
            migrate_if_needed()
        else:
            _check_migrated()
        _ready = True
        _spare_start_up_objects_from_collections()


def _spare_start_up_objects_from_collections() -> None:
    """Move what is alive once runs is set up (modules, Django's apps and settings) to the
    cyclic collector's permanent generation.

    A flow of thousands of task runs triggers dozens of full collections, each of which walked
    these objects: a fifth of a sequential task run's time at 30,000 runs. Frozen objects are
    still freed when nothing refers to them; only a reference cycle among them that is already
    garbage now stays, and start-up leaves few.
    """
    import gc

    gc.freeze()


#: The apps whose tables runs needs.
RUNS_APPS = ("runs", "limits")


def _check_migrated() -> None:
    """In a host project: raise NotMigratedError when runs' migrations are not all applied."""
    missing = sorted(
        {f"{m.app_label}.{m.name}" for m, _ in _unapplied_migrations() if m.app_label in RUNS_APPS}
    )
    if missing:
        from django.conf import settings

        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise NotMigratedError(
            f"runs' tables are missing or out of date in this project's database "
            f"(unapplied: {shown}); run `python manage.py migrate` "
            f"(settings: {settings.SETTINGS_MODULE or 'settings.configure()'}). runs migrates by "
            "itself only with its own settings."
        )


def secure_files() -> None:
    """Once per process: make RUNS_HOME and what `runs` keeps there owner-only.

    RUNS_HOME becomes 0700; the SQLite database is created 0600 before the first connection
    (SQLite gives its ``-wal`` and ``-shm`` files the database's mode). Files and folders an
    older version left readable by others (what `runs` writes in RUNS_HOME, stored results,
    the SQLite files) lose their group and other permissions, said in one log line.
    """
    global _secured
    if _secured:
        return
    with _secure_lock:
        if _secured:
            return
        from runs import conf

        home = conf.settings.RUNS_HOME
        private_dir(home)
        sqlite_files = _sqlite_files()
        if sqlite_files and sqlite_files[0].parent.is_dir():
            try:
                os.close(open_private(sqlite_files[0]))
            except OSError:
                pass  # not ours to create: make_private says so below, Django when it connects
        result = make_private(home, look_inside=True, only=_written_by_runs)
        result += make_private(conf.settings.RUNS_LOCAL_STORAGE_PATH, only=_result_file)
        for path in sqlite_files:
            result += make_private(path)
        if result.failed:
            logger.warning(describe(result, home))
        elif result.changed:
            logger.info(describe(result, home))
        _secured = True


#: What `runs` writes directly in RUNS_HOME: folders, and the beginnings of file names (their
#: temporary files included). Anything else there is the user's, and left as it is.
_HOME_FOLDERS = frozenset({"broker", "storage", "logs", "static"})
_HOME_FILES = (
    "runs.sqlite3",
    "secret_key",
    ".secret_key.",
    "admin-password",
    ".admin-password.",
    "profiles.",
    ".profiles.",
    "migrate.lock",
    "prune.lock",
)


def _written_by_runs(name: str) -> bool:
    return name in _HOME_FOLDERS or name.startswith(_HOME_FILES)


def _result_file(name: str) -> bool:
    """A stored result (a uuid4 hex key) or its temporary file."""
    key = name.lstrip(".")[:32]
    return len(key) == 32 and all(c in "0123456789abcdef" for c in key)


def _sqlite_files() -> list[Path]:
    """The default database's file, ``-wal`` and ``-shm`` when it is an SQLite file of runs' own
    settings (a host project's database file is the host's to protect)."""
    from django.conf import settings

    if not self_configured():
        return []
    database = settings.DATABASES.get("default", {})
    name = str(database.get("NAME") or "")
    if not database.get("ENGINE", "").endswith("sqlite3") or not name:
        return []
    if name == ":memory:" or name.startswith("file:"):
        return []
    return [Path(name), Path(f"{name}-wal"), Path(f"{name}-shm")]


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

    home = private_dir(conf.settings.RUNS_HOME)
    with os.fdopen(open_private(home / "migrate.lock"), "w") as handle:
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
