"""runs_limits.slots on its own: rows made with the ORM, each call in a transaction like orchestration's."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from runs import owners
from runs.models import Flow, FlowRun, ProcessLease, TaskRun
from runs.states import now
from runs_limits import slots
from runs_limits.models import ConcurrencyLimit, ConcurrencySlot, SlotWaiter


def new_tag() -> str:
    return f"slot-{uuid.uuid4().hex[:8]}"


def limit(tag: str, value: int) -> ConcurrencyLimit:
    return ConcurrencyLimit.objects.create(tag=tag, concurrency_limit=value)


def task_run(state: str = "PENDING", owner: str | None = None) -> TaskRun:
    """A task run of this process (whose lease is renewed) unless ``owner`` says otherwise."""
    owners.renew()
    flow, _ = Flow.objects.get_or_create(name="limits-slot-primitives")
    flow_run = FlowRun.objects.create(
        flow=flow, name="fr", state_type="RUNNING", state_name="Running", created=now()
    )
    name = f"t-{uuid.uuid4().hex[:6]}"
    return TaskRun.objects.create(
        flow_run=flow_run,
        name=name,
        task_key=name,
        task_name=name,
        state_type=state,
        state_name=state.title(),
        created=now(),
        owner=owners.current_owner() if owner is None else owner,
    )


def run_of_a_dead_process_holding(tag: str) -> TaskRun:
    """A Pending run whose process left a lapsed lease and no process, holding a slot of
    ``tag``. Call it inside the test's transaction, so that no reaper sees them first."""
    owner = f"dead-{uuid.uuid4().hex[:6]}"
    ProcessLease.objects.create(
        owner=owner, hostname="gone", pid=1, started=now(), expires=now() - dt.timedelta(seconds=1)
    )
    orphan = task_run(owner=owner)
    assert slots.acquire(orphan.id, [tag], owner=owner).status == "acquired"
    return orphan


def acquire(run: TaskRun, tags: list[str]) -> slots.SlotDecision:
    """Acquire like orchestration does; an acquired run becomes RUNNING in the same transaction."""
    with transaction.atomic():
        decision = slots.acquire(run.id, tags)
        if decision.status in ("acquired", "unlimited"):
            TaskRun.objects.filter(id=run.id).update(state_type="RUNNING")
    return decision


def release(run: TaskRun) -> list[str]:
    with transaction.atomic():
        TaskRun.objects.filter(id=run.id).update(state_type="COMPLETED")
        freed = slots.release(run.id)
    slots.notify_released(freed)
    return freed


def test_tags_without_limits_are_unlimited_and_cost_no_slot():
    run = task_run()
    assert slots.any_limited([]) is False
    assert slots.any_limited([new_tag()]) is False
    assert acquire(run, [new_tag()]).status == "unlimited"
    assert acquire(run, []).status == "unlimited"
    assert not ConcurrencySlot.objects.filter(task_run=run).exists()


def test_acquire_takes_a_slot_of_every_limited_tag():
    a, b, free = new_tag(), new_tag(), new_tag()
    limit(a, 2), limit(b, 1)
    run = task_run()
    assert slots.any_limited([free, a]) is True
    assert acquire(run, [a, b, free]).status == "acquired"
    assert set(
        ConcurrencySlot.objects.filter(task_run=run).values_list("limit__tag", flat=True)
    ) == {a, b}
    assert sorted(release(run)) == sorted([a, b])
    assert not ConcurrencySlot.objects.filter(task_run=run).exists()


def test_all_or_none_a_blocked_run_holds_no_slot():
    a, b = new_tag(), new_tag()
    limit(a, 1), limit(b, 1)
    holder, blocked = task_run(), task_run()
    assert acquire(holder, [a]).status == "acquired"
    decision = acquire(blocked, [b, a])
    assert (decision.status, decision.tag, decision.limit, decision.holders) == ("wait", a, 1, 1)
    assert a in decision.message and "1 of 1" in decision.message
    assert not ConcurrencySlot.objects.filter(task_run=blocked).exists()
    release(holder)
    assert acquire(blocked, [a, b]).status == "acquired"


def test_limit_zero_aborts_naming_the_tag():
    tag = new_tag()
    limit(tag, 0)
    run = task_run()
    decision = acquire(run, [tag])
    assert decision.status == "abort" and decision.tag == tag and tag in decision.message
    assert not ConcurrencySlot.objects.filter(task_run=run).exists()


def test_waiters_are_served_first_come_first_served():
    tag = new_tag()
    limit(tag, 1)
    holder, first, second = task_run(), task_run(), task_run()
    assert acquire(holder, [tag]).status == "acquired"
    assert acquire(first, [tag]).status == "wait"
    assert acquire(second, [tag]).status == "wait"
    release(holder)
    late = acquire(second, [tag])
    assert late.status == "wait" and "1 waiting ahead" in late.message
    assert acquire(first, [tag]).status == "acquired"
    assert not SlotWaiter.objects.filter(task_run=first).exists()
    release(first)
    assert acquire(second, [tag]).status == "acquired"
    assert not SlotWaiter.objects.filter(limit__tag=tag).exists()


def test_runs_queued_on_several_tags_keep_one_order_so_none_waits_forever():
    a, b = new_tag(), new_tag()
    limit(a, 1)
    limit(b, 1)
    holder_a, holder_b, first, second = task_run(), task_run(), task_run(), task_run()
    acquire(holder_a, [a])
    assert acquire(first, [a, b]).status == "wait"  # queues on a only: b is free
    acquire(holder_b, [b])
    assert acquire(second, [a, b]).status == "wait"  # queues on a and b
    release(holder_a)
    assert acquire(first, [a, b]).status == "wait"  # now queues on b too, at its first place
    release(holder_b)
    # Had ``first`` queued on b behind ``second``, each would wait for the other for ever.
    assert acquire(second, [a, b]).status == "wait"
    assert acquire(first, [a, b]).status == "acquired"
    release(first)
    assert acquire(second, [a, b]).status == "acquired"


def test_release_drops_the_run_from_wait_queues():
    tag = new_tag()
    limit(tag, 1)
    holder, waiter = task_run(), task_run()
    acquire(holder, [tag])
    acquire(waiter, [tag])
    assert SlotWaiter.objects.filter(task_run=waiter).exists()
    assert release(waiter) == []
    assert not SlotWaiter.objects.filter(task_run=waiter).exists()


def test_slot_of_a_run_no_longer_running_is_reclaimed():
    tag = new_tag()
    limit(tag, 1)
    finished, newcomer = task_run(), task_run()
    acquire(finished, [tag])
    TaskRun.objects.filter(id=finished.id).update(state_type="COMPLETED")  # slot left behind
    assert acquire(newcomer, [tag]).status == "acquired"
    assert not ConcurrencySlot.objects.filter(task_run=finished).exists()


def test_slot_of_a_dead_process_is_reclaimed():
    tag = new_tag()
    limit(tag, 1)
    with transaction.atomic():  # uncommitted: no other process's reaper can free it first
        # Its RUNNING state was still in the dead process's write-behind buffer.
        orphan = run_of_a_dead_process_holding(tag)
        assert slots.reclaim_dead_slots() == 1
        assert not ConcurrencySlot.objects.filter(task_run=orphan).exists()
    assert acquire(task_run(), [tag]).status == "acquired"


def test_a_dead_holders_slot_is_kept_while_its_run_is_recorded_running():
    tag = new_tag()
    limit(tag, 1)
    with transaction.atomic():  # uncommitted: no other process's reaper can end it first
        orphan = run_of_a_dead_process_holding(tag)
        TaskRun.objects.filter(id=orphan.id).update(state_type="RUNNING")
        # Freed by the transition that records its crash (the reaper's), not before it.
        assert slots.reclaim_dead_slots() == 0
        assert acquire(task_run(), [tag]).status == "wait"
        TaskRun.objects.filter(id=orphan.id).update(state_type="CRASHED")
        assert slots.reclaim_dead_slots() == 1


def test_a_slot_counts_before_its_run_row_is_written():
    tag = new_tag()
    limit(tag, 1)
    unwritten = uuid.uuid4()  # its rows are still in this process's write-behind buffer
    assert slots.acquire(unwritten, [tag]).status == "acquired"
    assert ConcurrencySlot.objects.get(task_run_id=unwritten).owner == owners.current_owner()
    assert acquire(task_run(), [tag]).status == "wait"
    assert slots.reclaim_dead_slots() == 0
    assert slots.release(unwritten) == [tag]


def test_slot_of_a_live_process_whose_lease_lapsed_is_kept_until_it_exits():
    import subprocess

    from runs.processes import process_key

    tag = new_tag()
    limit(tag, 1)
    sleeper = subprocess.Popen(["sleep", "30"])
    # One transaction: once the sleeper exits, no other process's reaper can free the slot first.
    with transaction.atomic():
        try:
            owner = f"busy-{uuid.uuid4().hex[:6]}"
            ProcessLease.objects.create(
                owner=owner,
                hostname="here",
                pid=sleeper.pid,
                started=now(),
                expires=now() - dt.timedelta(seconds=60),
                process_key=process_key(sleeper.pid),
            )
            holder = task_run(owner=owner)  # Pending: a RUNNING one waits for its crash
            assert slots.acquire(holder.id, [tag], owner=owner).status == "acquired"
            assert slots.reclaim_dead_slots() == 0
            assert acquire(task_run(), [tag]).status == "wait"
        finally:
            sleeper.kill()
            sleeper.wait()
        assert slots.reclaim_dead_slots() == 1
        assert not ConcurrencySlot.objects.filter(task_run=holder).exists()


def test_live_holders_are_never_reclaimed():
    tag = new_tag()
    limit(tag, 1)
    holder = task_run()
    acquire(holder, [tag])
    slots.reclaim_dead_slots()
    assert acquire(task_run(), [tag]).status == "wait"
    assert ConcurrencySlot.objects.filter(task_run=holder).exists()


def test_notify_released_wakes_a_waiter_in_this_process_at_once():
    woke = []

    def waiter():
        started = time.monotonic()
        slots.wait_for_slot(uuid.uuid4(), ["x"], timeout=5)
        woke.append(time.monotonic() - started)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.02)
    slots.notify_released(["x"])
    thread.join(5)
    assert woke and woke[0] < (1 if connection.vendor == "postgresql" else slots.POLL_SECONDS + 0.5)


def test_exact_under_threads():
    tag = new_tag()
    limit(tag, 3)
    runs = [task_run() for _ in range(12)]
    lock = threading.Lock()
    current, peak, done = [0], [0], []

    def worker(run: TaskRun) -> None:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                decision = acquire(run, [tag])
                if decision.status == "acquired":
                    break
                assert decision.status == "wait"
                slots.wait_for_slot(run.id, [tag], timeout=0.2)
            else:
                raise AssertionError("never got a slot")
            with lock:
                current[0] += 1
                peak[0] = max(peak[0], current[0])
            time.sleep(0.02)
            with lock:
                current[0] -= 1
            release(run)
            done.append(run.id)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(done) == 12
    assert 2 <= peak[0] <= 3
    assert not ConcurrencySlot.objects.filter(limit__tag=tag).exists()
    assert not SlotWaiter.objects.filter(limit__tag=tag).exists()


def _slot_gone_within(run_id, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while ConcurrencySlot.objects.filter(task_run_id=run_id).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_deferred_release_is_freed_at_once_when_a_run_elsewhere_waits(
    monkeypatch, is_postgres, tmp_path
):
    import subprocess
    import sys
    import textwrap

    if not is_postgres:
        pytest.skip("releases are deferred on PostgreSQL only")
    monkeypatch.setattr(slots, "DEFERRED_RELEASE_SECONDS", 60)  # only a waiter can free it
    tag = new_tag()
    limit(tag, 1)
    finished = uuid.uuid4()
    assert slots.acquire(finished, [tag]).status == "acquired"
    assert slots.release(finished, [tag]) == []  # deferred: nobody waits
    assert ConcurrencySlot.objects.filter(task_run_id=finished).exists()
    (tmp_path / "newcomer.py").write_text(
        textwrap.dedent(f"""
        from runs import flow, task

        @task(tags=[{tag!r}])
        def newcomer():
            return "ran"

        @flow
        def f():
            state = newcomer(return_state=True)
            return [state.name, state.result()]

        print(*f())
    """)
    )
    started = time.monotonic()
    env = {**os.environ, "RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS": "60"}
    done = subprocess.run(
        [sys.executable, "newcomer.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Completed", "ran"]
    assert time.monotonic() - started < 20  # not the 60 s of the deferral or of the wait
    assert not ConcurrencySlot.objects.filter(task_run_id=finished).exists()
    waited = TaskRun.objects.get(task_name="newcomer", tags=[tag])
    assert "AwaitingConcurrencySlot" in waited.states.values_list("name", flat=True)


def test_a_deferred_release_is_freed_soon_or_by_the_next_acquire(is_postgres):
    if not is_postgres:
        pytest.skip("releases are deferred on PostgreSQL only")
    tag = new_tag()
    limit(tag, 5)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    slots.acquire(first, [tag])
    slots.release(first, [tag])
    assert _slot_gone_within(first, slots.DEFERRED_RELEASE_SECONDS + 1)  # the listener frees it
    slots.acquire(second, [tag])
    slots.release(second, [tag])
    assert slots.acquire(third, [tag]).status == "acquired"  # frees the second on its way
    assert list(
        ConcurrencySlot.objects.filter(limit__tag=tag).values_list("task_run_id", flat=True)
    ) == [third]
    slots.release(third, [tag])
    slots.release_deferred()
    assert not ConcurrencySlot.objects.filter(limit__tag=tag).exists()


def _notified_by(listener, backend_pid: int, seconds: float) -> bool:
    """Whether ``listener`` hears a slot NOTIFY sent by that backend within ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        for notify in listener.notifies(timeout=left, stop_after=1):
            if notify.channel == slots._NOTIFY_CHANNEL and notify.pid == backend_pid:
                return True
    return False


def test_a_release_riding_with_the_next_acquire_wakes_only_when_someone_waits(is_postgres):
    if not is_postgres:
        pytest.skip("releases ride with the next acquire on PostgreSQL only")
    free_tag, next_tag = new_tag(), new_tag()
    limit(free_tag, 1)
    limit(next_tag, 5)
    listener, releaser = slots.separate_connection(), slots.separate_connection()
    listener.execute(f"LISTEN {slots._NOTIFY_CHANNEL}")
    take = "SELECT limits_take_free_slots(%s, %s, 'another-process', now(), %s)"
    try:
        held, quiet = uuid.uuid4(), uuid.uuid4()
        assert slots.acquire(held, [free_tag]).status == "acquired"
        # Nobody waits: freeing costs nobody a wake-up.
        assert releaser.execute(take, [[next_tag], quiet, [held]]).fetchone()[0] == "acquired"
        assert not ConcurrencySlot.objects.filter(task_run_id=held).exists()
        assert not _notified_by(listener, releaser.info.backend_pid, 0.3)
        assert slots.acquire(held, [free_tag]).status == "acquired"
        # A run elsewhere queues on the held slot's limit, holding its lock as it decides.
        queuing = slots.separate_connection(autocommit=False)
        queuing.execute(
            "SELECT id FROM limits_concurrencylimit WHERE tag = %s FOR UPDATE", [free_tag]
        )
        queuing.execute(
            "INSERT INTO limits_slotwaiter (limit_id, task_run_id, enqueued, owner) "
            "SELECT id, %s, now(), 'waiting-process' FROM limits_concurrencylimit "
            "WHERE tag = %s",
            [uuid.uuid4(), free_tag],
        )
        outcome = []
        thread = threading.Thread(
            target=lambda: outcome.append(
                releaser.execute(take, [[next_tag], uuid.uuid4(), [held]]).fetchone()[0]
            )
        )
        thread.start()
        thread.join(0.3)
        assert thread.is_alive(), "the release must wait for the queuing run's decision"
        queuing.commit()
        thread.join(10)
        assert outcome == ["acquired"]
        assert _notified_by(listener, releaser.info.backend_pid, 5)
        assert not ConcurrencySlot.objects.filter(task_run_id=held).exists()
        queuing.close()
    finally:
        listener.close()
        releaser.close()


def test_a_slot_reclaimed_by_a_run_behind_in_line_wakes_the_first(is_postgres):
    tag = new_tag()
    limit(tag, 1)
    holder, first, newcomer = task_run(), task_run(), task_run()
    acquire(holder, [tag])
    assert acquire(first, [tag]).status == "wait"
    # The holder ended, but its slot is still there (its release not yet sent).
    TaskRun.objects.filter(id=holder.id).update(state_type="COMPLETED")
    listener = slots.separate_connection() if is_postgres else None
    if listener is not None:
        listener.execute(f"LISTEN {slots._NOTIFY_CHANNEL}")
    try:
        seen = slots._generation
        assert acquire(newcomer, [tag]).status == "wait"  # reclaims the slot, but first is ahead
        assert not ConcurrencySlot.objects.filter(limit__tag=tag).exists()
        assert slots._generation != seen  # the first in line, here, looks again
        if listener is not None:  # and so it does in every other process
            connection.ensure_connection()
            assert _notified_by(listener, connection.connection.info.backend_pid, 5)
        assert acquire(first, [tag]).status == "acquired"
    finally:
        if listener is not None:
            listener.close()
