"""Set-up shared by the benchmarks: a private RUNS_HOME, and a fresh PostgreSQL database.

Import :func:`prepare` before anything from ``runs``. With DATABASE_URL pointing at PostgreSQL,
a new database is created on that server for the run and dropped at exit, so benchmarks never
fill a database someone uses.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid


def prepare() -> str:
    """Point RUNS_HOME (and DATABASE_URL, on PostgreSQL) at throwaway places; returns RUNS_HOME."""
    home = tempfile.mkdtemp(prefix="runs-bench-")
    os.environ["RUNS_HOME"] = home
    # Django's test client calls itself "testserver".
    os.environ["RUNS_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    atexit.register(shutil.rmtree, home, True)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"runs_bench_{uuid.uuid4().hex[:10]}"
        admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
        atexit.register(_drop, admin, name)
    return home


def _drop(admin: str, name: str) -> None:
    import psycopg

    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django never set up: nothing to close
        pass
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
