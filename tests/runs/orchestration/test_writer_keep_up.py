"""The writer keeps up with a busy flow (issue 18, flat memory): when rows pile up faster than
they are written, the threads making them wait for the writer's thread to take the buffer, and
the rows are written on that thread's one connection, not on a connection per task thread."""

from __future__ import annotations

import sys
import threading

from django.db import transaction
from django.db.backends.signals import connection_created

from runs import flow, task
from runs.models import TaskRun
from runs.orchestration.writer import writer


@task
def plus_one(x):
    return x + 1


def _threads_connecting(monkeypatch, run) -> set[str]:
    """The names of the threads that opened a database connection while ``run()`` ran with a
    backlog limit of 30 rows."""
    # The module (runs.orchestration.writer is also the name of the writer object there).
    monkeypatch.setattr(sys.modules["runs.orchestration.writer"], "MAX_BACKLOG", 30)
    names: set[str] = set()

    def seen(sender, connection, **kwargs):
        names.add(threading.current_thread().name)

    connection_created.connect(seen, weak=False)
    try:
        run()
    finally:
        connection_created.disconnect(seen)
    return names


def test_a_busy_map_writes_on_the_writer_thread_only(monkeypatch):
    """A map of 400 runs on 16 threads, past the backlog again and again: its rows are all
    written, and no task thread opens a connection of its own."""

    @flow
    def busy():
        return [f.result() for f in plus_one.map(range(1000, 1400))]

    results = []
    names = _threads_connecting(monkeypatch, lambda: results.append(busy(return_state=True)))

    writer.flush()
    state = results[0]
    assert state.result() == list(range(1001, 1401))
    assert not [name for name in names if name.startswith("runs-task")], names
    assert TaskRun.objects.filter(flow_run_id=state.flow_run_id, state_type="COMPLETED").count()
    assert TaskRun.objects.filter(flow_run_id=state.flow_run_id).count() == 400


def test_a_flow_in_the_callers_transaction_writes_its_rows_itself(monkeypatch):
    """Inside the caller's ``atomic()`` the thread past the backlog writes the rows itself (on
    SQLite its transaction may hold the write lock the writer's thread would wait for)."""

    @flow
    def sequential():
        for i in range(200):
            plus_one(1000 + i)
        return "done"

    def run():
        with transaction.atomic():
            assert sequential() == "done"

    _threads_connecting(monkeypatch, run)
    writer.flush()
    assert TaskRun.objects.filter(task_name="plus_one").count() >= 200
