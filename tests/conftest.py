"""Test session set-up: a private RUNS_HOME, a fresh database, Django ready.

Every test session gets its own RUNS_HOME under a temporary folder, so the real ``~/.runs`` is
never touched. When DATABASE_URL points at PostgreSQL, a fresh database is created on that
server for the session and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="runs-test-home-"))
os.environ["RUNS_HOME"] = str(_SESSION_HOME)
os.environ.pop("RUNS_API_URL", None)
os.environ.pop("RUNS_LOCAL_STORAGE_PATH", None)
# A lease of 3 heartbeats: 3 s, so a test process busy with 10,000 runs keeps renewing it.
os.environ.setdefault("RUNS_HEARTBEAT_SECONDS", "1.0")
os.environ["DJANGO_SETTINGS_MODULE"] = "runs_project.settings"
# Django's test client calls itself "testserver".
os.environ["RUNS_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1,[::1]"

_PG_DATABASE: tuple[str, str] | None = None

pytest_plugins = ["tests.workers"]


def _make_postgres_database() -> None:
    """Point DATABASE_URL at a new, empty database on the same PostgreSQL server."""
    global _PG_DATABASE
    import dj_database_url
    import psycopg

    url = os.environ["DATABASE_URL"]
    parsed = dj_database_url.parse(url)
    name = f"runs_test_{uuid.uuid4().hex[:10]}"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    _PG_DATABASE = (admin, name)
    del parsed


if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    _make_postgres_database()


def _empty_redis_broker() -> None:
    """Drop messages an earlier session left in the test broker (they name runs of other databases)."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()


def pytest_sessionstart(session: pytest.Session) -> None:
    from runs.bootstrap import ensure_ready

    _empty_redis_broker()

    ensure_ready()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from runs.process import runtime

    # The exit steps now (flush, free deferred slots, stop the heartbeat), not again at exit,
    # when the session's database is gone.
    runtime.stop()
    if _PG_DATABASE is not None:
        import psycopg
        from django.db import connections

        connections.close_all()
        admin, name = _PG_DATABASE
        try:
            with psycopg.connect(
                admin.replace("postgres://", "postgresql://", 1), autocommit=True
            ) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture
def runs_home() -> Path:
    """The RUNS_HOME of this test session."""
    return _SESSION_HOME


@pytest.fixture
def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"
