"""A connection dropped between two statements (a proxy, a failover, an administrator) is opened
again: the run whose decision found it dropped goes on, and its history is whole."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from runs import flow, task
from runs.models import TaskRun
from runs.reconnect import once_reopened
from runs.states import StateType
from runs_limits.services import create_limit, delete_limit_by_tag

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="drops server connections: PostgreSQL only"
)


def _drop_connections(only_this_thread: bool = False) -> None:
    """Terminate, from another session, the server sessions of this test's database (this
    process's connections: no worker runs here), or only the one of this thread."""
    from runs_limits.slots import separate_connection

    pid = None
    if only_this_thread:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
    with separate_connection() as admin:
        ended = admin.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM (SELECT pid FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() "
            "AND (pid = %s OR %s::int IS NULL) OFFSET 0) AS others",
            [pid, pid],
        ).fetchall()
        # Gone before the run goes on, so that its next statement certainly finds it dropped.
        deadline = time.monotonic() + 5
        while admin.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [[p for p, _ in ended]]
        ).fetchall():
            assert time.monotonic() < deadline
            time.sleep(0.005)


@pytest.fixture
def limited_tag():
    tag = f"reconnect-{uuid.uuid4().hex[:8]}"
    create_limit(tag=tag, concurrency_limit=1)
    yield tag
    delete_limit_by_tag(tag=tag)


def test_a_run_goes_on_when_its_decision_finds_the_connection_dropped(limited_tag):
    # A limited tag: taking and freeing its slot are decided in the database, in this thread.
    @task(tags=[limited_tag])
    def drops_the_connection(n: int) -> int:
        _drop_connections(only_this_thread=True)
        return n * 2

    @flow
    def twice():
        return [drops_the_connection(1), drops_the_connection(2)]

    state = twice(return_state=True)

    assert state.type is StateType.COMPLETED, state.message
    assert state.result() == [2, 4]
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert sorted(runs.values_list("state_type", "run_count")) == [
        (StateType.COMPLETED, 1),
        (StateType.COMPLETED, 1),
    ]


def test_work_that_finds_the_connection_dropped_is_done_again_on_a_new_one():
    calls = []

    def count_runs() -> int:
        calls.append(1)
        return TaskRun.objects.count()

    _drop_connections(only_this_thread=True)

    assert once_reopened(count_runs) >= 0
    assert len(calls) == 2


def test_a_refused_statement_is_not_done_again():
    from django.db import DatabaseError

    calls = []

    def refused() -> None:
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")

    with pytest.raises(DatabaseError):
        once_reopened(refused)
    assert len(calls) == 1
