"""Limit services (validation, upsert, delete) and selectors (by tag, holders, waiters)."""

from __future__ import annotations

import uuid

import pytest

from runs.exceptions import ObjectNotFound
from runs.models import Flow, FlowRun, TaskRun
from runs.states import now
from runs_limits import selectors, services
from runs_limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter


def new_tag() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


def task_run() -> TaskRun:
    flow, _ = Flow.objects.get_or_create(name="limits-services")
    flow_run = FlowRun.objects.create(flow=flow, name="fr", created=now())
    return TaskRun.objects.create(
        flow_run=flow_run,
        name="held",
        task_key="k",
        task_name="held",
        state_type="RUNNING",
        created=now(),
        start_time=now(),
    )


def test_create_then_create_again_updates():
    tag = new_tag()
    limit, created = services.create_limit(tag=tag, concurrency_limit="4")
    assert created and limit.concurrency_limit == 4
    again, created = services.create_limit(tag=f"  {tag} ", concurrency_limit=2)
    assert not created and again.id == limit.id and again.concurrency_limit == 2


@pytest.mark.parametrize("tag", ["", "   ", None, 5, "x" * 201])
def test_bad_tags_are_refused(tag):
    with pytest.raises(services.LimitError):
        services.create_limit(tag=tag, concurrency_limit=1)


@pytest.mark.parametrize("value", [-1, "-3", "1.5", 1.5, "two", "", None, True, [1], 2**40])
def test_bad_limits_are_refused_and_nothing_is_saved(value):
    tag = new_tag()
    with pytest.raises(services.LimitError) as error:
        services.create_limit(tag=tag, concurrency_limit=value)
    assert str(error.value)
    assert not ConcurrencyLimit.objects.filter(tag=tag).exists()


def test_zero_and_whole_floats_are_accepted():
    assert services.create_limit(tag=new_tag(), concurrency_limit=0)[0].concurrency_limit == 0
    assert services.create_limit(tag=new_tag(), concurrency_limit=3.0)[0].concurrency_limit == 3


def test_update_limit_refuses_a_tag_that_has_a_limit():
    first, _ = services.create_limit(tag=new_tag(), concurrency_limit=1)
    second, _ = services.create_limit(tag=new_tag(), concurrency_limit=1)
    with pytest.raises(services.LimitError, match="already has a limit"):
        services.update_limit(limit=first, tag=second.tag)
    renamed = services.update_limit(limit=first, tag=new_tag(), concurrency_limit=7)
    assert ConcurrencyLimit.objects.get(id=renamed.id).concurrency_limit == 7


def test_delete_by_tag_and_unknown_tag():
    tag = new_tag()
    services.create_limit(tag=tag, concurrency_limit=1)
    services.delete_limit_by_tag(tag=tag)
    assert not ConcurrencyLimit.objects.filter(tag=tag).exists()
    with pytest.raises(ObjectNotFound, match=tag):
        services.delete_limit_by_tag(tag=tag)
    with pytest.raises(ObjectNotFound):
        selectors.get_limit_by_tag(tag)
    with pytest.raises(ObjectNotFound):
        selectors.get_limit(uuid.uuid4())


def test_selectors_show_holders_and_waiters():
    limit, _ = services.create_limit(tag=new_tag(), concurrency_limit=1)
    holder, waiter = task_run(), task_run()
    ConcurrencySlot.objects.create(limit=limit, task_run=holder, acquired=now())
    SlotWaiter.objects.create(limit=limit, task_run=waiter, enqueued=now())
    assert selectors.get_limit_by_tag(limit.tag).id == limit.id
    assert selectors.active_slots(limit) == [holder.id]
    assert [slot.task_run.name for slot in selectors.holders(limit)] == ["held"]
    assert [w.task_run_id for w in selectors.waiters(limit)] == [waiter.id]
    assert limit.tag in [item.tag for item in selectors.list_limits()]
