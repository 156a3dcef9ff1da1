"""The engine waits for a concurrency slot through the slot waiter it is given (a Celery
worker gives one that re-queues the run instead of sleeping)."""

from __future__ import annotations

import threading
import uuid

import pytest

from runs import flow, task
from runs.context import flow_run_context
from runs.engine.attempts import Deferred
from runs.engine.task_engine import TaskRunEngine
from runs_limits import services


class SentBack(Deferred):
    pass


def test_an_injected_slot_waiter_is_used_and_a_deferred_run_can_be_driven_again():
    tag = f"waiter-{uuid.uuid4().hex[:8]}"
    services.create_limit(tag=tag, concurrency_limit=1)
    release = threading.Event()
    waited = []

    @task(tags=[tag])
    def holder():
        release.wait(5)
        return "held"

    @task(tags=[tag])
    def second():
        return "second"

    def send_back(record) -> None:
        waited.append(record.state.name)
        raise SentBack

    @flow
    def f():
        held = holder.submit()
        while held.state.name != "Running":
            threading.Event().wait(0.01)
        engine = TaskRunEngine(second, flow_run_context.get(), (), {}, slot_waiter=send_back)
        engine.start()
        with pytest.raises(SentBack):
            engine.run_sync()
        deferred_state = engine.record.state.name
        release.set()
        engine.slot_waiter = lambda record: held.wait()  # now wait here, as the process does
        return {
            "deferred": deferred_state,
            "final": engine.run_sync().result(),
            "held": held.result(),
        }

    assert f() == {"deferred": "AwaitingConcurrencySlot", "final": "second", "held": "held"}
    assert waited == ["AwaitingConcurrencySlot"]
