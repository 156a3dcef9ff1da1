"""Workers that lose their database connections mid-map (a proxy or an administrator dropping
them) reconnect: no run is lost or left unfinished."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection

from runs import flow
from runs.models import TaskRun
from runs.runners.celery import CeleryTaskRunner
from runs.states import StateType
from tests.perf.celery_noop import runs_sleep
from tests.workers import start_worker

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="drops server connections: PostgreSQL only"
)


def _drop_connections_of(application: str) -> int:
    """Terminate the server connections that name themselves ``application`` (libpq's
    PGAPPNAME): the worker's, not this test session's."""
    from runs_limits.slots import separate_connection

    with separate_connection() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application],
        ).fetchall()
    return len(rows)


def test_a_map_survives_its_workers_losing_their_database_connections(tmp_path):
    application = f"runs-db-lost-{uuid.uuid4().hex[:8]}"
    worker = start_worker(tmp_path, concurrency=2, env={"PGAPPNAME": application})
    outcome: dict = {}

    @flow(task_runner=CeleryTaskRunner(queue=worker.queue))
    def thirty():
        return [future.result() for future in runs_sleep.map([0.1] * 30)]

    thread = threading.Thread(target=lambda: outcome.setdefault("state", thirty(return_state=True)))
    try:
        thread.start()
        deadline = time.monotonic() + 20
        while not TaskRun.objects.filter(
            state_type=StateType.COMPLETED, task_name="runs_sleep"
        ).exists():
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.02)
        assert _drop_connections_of(application) > 0
        thread.join(timeout=60)
        assert not thread.is_alive(), worker.log()
    finally:
        worker.stop()
    state = outcome["state"]
    assert state.type is StateType.COMPLETED, state.message
    runs = TaskRun.objects.filter(flow_run_id=state.flow_run_id)
    assert runs.count() == 30
    assert set(runs.values_list("state_type", flat=True)) == {StateType.COMPLETED}
