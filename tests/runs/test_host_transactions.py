"""Run history survives the caller's transactions; the flow's own ORM work follows them.

On PostgreSQL (DATABASE_URL) a flow called inside ``transaction.atomic()`` has its runs, states
and logs written on runs' history connection: the caller rolling back keeps them and drops the
flow's own rows. On SQLite the caller's transaction holds the one write lock (runs' settings
begin transactions IMMEDIATE), so the history follows the caller's transaction: the flow
works, and its history is kept when the caller commits.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

from runs import flow, get_run_logger, task
from runs.models import FlowRun
from runs.orchestration import writer


class Rollback(Exception):
    pass


@task
def make_group(name: str) -> str:
    Group.objects.create(name=name)
    get_run_logger().info("made group %s", name)
    return name


@flow
def host_flow(name: str) -> str:
    get_run_logger().info("flow for %s", name)
    return make_group(name)


def _runs_named(name: str) -> list:
    writer.flush()
    return list(FlowRun.objects.filter(parameters__name=name))


def _call_in_transaction(name: str, *, roll_back: bool) -> None:
    try:
        with transaction.atomic():
            assert host_flow(name) == name
            if roll_back:
                raise Rollback
    except Rollback:
        pass


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip(
            "SQLite has one writer: see test_sqlite_history_follows_the_callers_transaction"
        )


@pytest.mark.parametrize("roll_back", [True, False], ids=["rolled-back", "committed"])
def test_history_outlives_the_callers_transaction(postgres_only, roll_back):
    name = f"group-{uuid.uuid4().hex}"
    _call_in_transaction(name, roll_back=roll_back)
    runs = _runs_named(name)
    assert [r.state_type for r in runs] == ["COMPLETED"]
    assert [t.state_type for t in runs[0].task_runs.all()] == ["COMPLETED"]
    messages = {log.message for log in runs[0].logs.all()}
    assert f"flow for {name}" in messages
    assert Group.objects.filter(name=name).exists() is not roll_back


def test_flow_outside_any_transaction_is_unchanged():
    name = f"group-{uuid.uuid4().hex}"
    assert host_flow(name) == name
    assert [r.state_type for r in _runs_named(name)] == ["COMPLETED"]
    assert Group.objects.filter(name=name).exists()


@pytest.mark.parametrize("roll_back", [True, False], ids=["rolled-back", "committed"])
def test_sqlite_history_follows_the_callers_transaction(is_postgres, roll_back):
    if is_postgres:
        pytest.skip("PostgreSQL writes history beside the caller's transaction")
    assert connection.vendor == "sqlite"
    name = f"group-{uuid.uuid4().hex}"
    started = time.monotonic()
    _call_in_transaction(name, roll_back=roll_back)
    assert time.monotonic() - started < 10  # no wait for a lock its own caller holds
    assert Group.objects.filter(name=name).exists() is not roll_back
    assert [r.state_type for r in _runs_named(name)] == ([] if roll_back else ["COMPLETED"])
    # the process goes on recording runs called outside a transaction
    other = f"group-{uuid.uuid4().hex}"
    assert host_flow(other) == other
    assert [r.state_type for r in _runs_named(other)] == ["COMPLETED"]
