"""This process's wake-ups on their own: no database, no other process."""

from __future__ import annotations

import threading
import time

from runs_limits.slots.wakeups import Wakeups


def test_a_slot_freed_between_wait_and_sleep_still_wakes_the_run():
    wakeups = Wakeups()
    seen = wakeups.generation
    wakeups.told_to_wait("run", seen)
    wakeups.wake()  # the slot is freed before the run goes to sleep
    started = time.monotonic()
    wakeups.wait("run", timeout=5, woken_from_elsewhere=True)
    assert time.monotonic() - started < 1


def test_a_wake_up_reaches_every_waiter_of_the_process():
    wakeups = Wakeups()
    woke = []

    def waiter(run: str) -> None:
        wakeups.wait(run, timeout=5, woken_from_elsewhere=True)
        woke.append(run)

    threads = [threading.Thread(target=waiter, args=(f"r{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    wakeups.wake()
    for thread in threads:
        thread.join(5)
    assert sorted(woke) == ["r0", "r1", "r2"]


def test_without_wake_ups_from_elsewhere_a_waiter_looks_again_after_the_poll():
    wakeups = Wakeups(poll_seconds=0.02)
    started = time.monotonic()
    wakeups.wait("run", timeout=5, woken_from_elsewhere=False)
    assert time.monotonic() - started < 1


def test_a_run_that_left_the_queues_is_no_longer_waiting():
    wakeups = Wakeups()
    wakeups.told_to_wait("run", wakeups.generation)
    assert wakeups.is_waiting("run")
    wakeups.forget("run")
    assert not wakeups.is_waiting("run")
