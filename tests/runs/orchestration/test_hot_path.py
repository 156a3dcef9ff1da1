"""The hot path's shortcuts give what the slow ways gave: ids made ahead are random version 4
UUIDs, made in one process only; the writer's value shortcuts adapt values exactly as each
field's ``get_db_prep_save``; a policy asks ``applies`` only of rules that can need the database
when it asks whether a transition does."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from decimal import Decimal

import pytest

from runs import flow, task
from runs.models import FlowRun, Log, RunTag, TaskRun, TaskRunDependency
from runs.models import State as StateRow
from runs.orchestration import rows
from runs.orchestration.policy import Policy, Rule, Transition
from runs.orchestration.records import TaskRunRecord, new_id
from runs.orchestration.writer import writer
from runs.states import Pending, Running, StateType


def test_ids_made_ahead_are_unique_time_ordered_version_7_uuids():
    """Time-ordered ids (issue 18: a history of millions of runs is written at the end of the
    indexes keyed by run id): those of a later millisecond sort after the earlier ones."""
    first = [new_id() for _ in range(3 * 256 + 7)]
    time.sleep(0.002)
    later = new_id()
    ids = [*first, later]
    assert len(set(ids)) == len(ids)
    assert all(type(i) is uuid.UUID for i in ids)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert abs((ids[0].int >> 80) - time.time() * 1000) < 60_000  # milliseconds of the epoch
    assert later == max(ids) or (later.int >> 80) == (max(ids).int >> 80)
    assert TaskRunRecord(name="x").id != TaskRunRecord(name="x").id


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_makes_ids_of_its_own():
    new_id()  # the parent holds a batch made ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child)
        os.close(read)
        os.write(write, new_id().bytes)
        os._exit(0)
    os.close(write)
    child = uuid.UUID(bytes=os.read(read, 16))
    os.close(read)
    os.waitpid(pid, 0)
    assert child not in {new_id() for _ in range(300)}


SAMPLES = [
    None,
    uuid.uuid4(),
    uuid.uuid4().hex,
    str(uuid.uuid4()),
    dt.datetime.now(dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # no microseconds
    dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "text",
    "",
    "x\x00y",
    7,
    0,
    -3,
    True,
    False,
    1.5,
    Decimal("2"),
    {"a": [1, "b", None, 1.5]},
    [],
    ["tag"],
]


def _outcome(fn, value):
    try:
        result = fn(value)
    except Exception as exc:
        return ("raises", type(exc))
    if type(result).__name__ == "Jsonb":  # PostgreSQL's JSON wrapper compares by identity
        return ("value", ("Jsonb", result.obj), type(result))
    return ("value", result, type(result))


@pytest.mark.parametrize(
    "model", [TaskRun, StateRow, Log, FlowRun, RunTag, TaskRunDependency], ids=lambda m: m.__name__
)
def test_the_writers_value_shortcuts_adapt_values_as_the_fields_do(model):
    connection = rows._real_connection()
    _, fields, converters = rows._insert_statement(model, connection)
    for field, convert in zip(fields, converters, strict=True):
        for value in SAMPLES:
            expected = _outcome(lambda v, f=field: f.get_db_prep_save(v, connection), value)
            got = _outcome(convert, value)
            assert _outcome(convert, value) == got  # a value seen again (kept texts)
            if expected[0] == "raises":
                assert got[0] == "raises", (field.name, value, got)
            else:
                assert got == expected, (field.name, value)


def test_a_task_run_is_stored_as_before():
    @task(tags=["hot"])
    def add(x, y):
        return x + y

    @flow
    def adding():
        return add("a", add("bb", "cc", return_state=True).result())

    state = adding(return_state=True)
    writer.flush()
    run = FlowRun.objects.get(id=state.flow_run_id)
    runs = list(TaskRun.objects.filter(flow_run=run).order_by("created"))
    assert [r.state_type for r in runs] == ["COMPLETED", "COMPLETED"]
    assert [r.parameters for r in runs] == [{"x": "bb", "y": "cc"}, {"x": "a", "y": "bbcc"}]
    assert all(r.tags == ["hot"] for r in runs)
    assert all(r.created.tzinfo is not None and r.start_time <= r.end_time for r in runs)
    history = StateRow.objects.filter(task_run=runs[1]).order_by("timestamp", "id")
    assert list(history.values_list("name", flat=True)) == ["Pending", "Running", "Completed"]
    assert RunTag.objects.filter(task_run=runs[0], tag="hot").exists()
    assert TaskRunDependency.objects.filter(upstream=runs[0], downstream=runs[1]).exists()


class _Counting(Rule):
    to_types = frozenset({StateType.RUNNING})

    def __init__(self, db: bool | None) -> None:
        self.db = db
        self.asked = 0

    def applies(self, t: Transition) -> bool:
        self.asked += 1
        return True


class _AsksDb(_Counting):
    def needs_db(self, t: Transition) -> bool:
        return bool(self.db)


def test_needs_db_asks_only_the_rules_that_can_need_the_database():
    plain, asks_no, asks_yes = _Counting(None), _AsksDb(False), _AsksDb(True)
    record = TaskRunRecord(name="x", state=Pending())
    assert Policy(plain, asks_no).needs_db(Transition(record, Running())) is False
    assert plain.asked == 0 and asks_no.asked == 1
    assert Policy(plain, asks_no, asks_yes).needs_db(Transition(record, Running())) is True
    assert Policy(plain).needs_db(Transition(record, Pending())) is False
    assert Transition(record, Running()).is_task is True
