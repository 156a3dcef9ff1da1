"""Deferred releases on their own: when they are due, and that a failed free keeps them."""

from __future__ import annotations

import pytest

from runs_limits.slots.deferred import DeferredReleases


def test_releases_are_due_after_the_delay_or_at_once_when_somebody_waits():
    deferred = DeferredReleases(max_delay=60)
    assert not deferred.due(wanted=True)  # nothing held back
    deferred.defer(["run"])
    assert not deferred.due(wanted=False)
    assert deferred.due(wanted=True)
    assert DeferredReleases(max_delay=0).due(wanted=False) is False
    quick = DeferredReleases(max_delay=0)
    quick.defer(["run"])
    assert quick.due(wanted=False)


def test_a_failed_free_keeps_them_deferred():
    deferred = DeferredReleases()
    deferred.defer(["a", "b"])

    def failing(runs: list) -> None:
        raise ConnectionError("database gone")

    with pytest.raises(ConnectionError):
        deferred.free_with(failing)
    freed = []
    deferred.free_with(freed.extend)
    assert freed == ["a", "b"] and not deferred.pending


def test_a_tag_somebody_waits_for_is_not_deferred_until_nobody_is_queued():
    deferred = DeferredReleases()
    deferred.contended("db")
    assert not deferred.may_defer(["db", "other"])
    assert deferred.may_defer(["other"])
    deferred.uncontended(["db"])
    assert deferred.may_defer(["db"])


def test_a_forked_child_forgets_what_its_parent_holds_back():
    deferred = DeferredReleases()
    deferred.defer(["parent's"])
    deferred.forget()
    assert not deferred.pending


def test_this_process_state_is_reset_in_a_forked_child():
    import os

    from runs_limits.slots.process import this_process

    this_process.deferred.defer(["held by the parent"])
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, and leave without running the parent's exit hooks
            os.write(write, b"1" if this_process.deferred.pending else b"0")
            os._exit(0)
        os.close(write)
        assert os.read(read, 1) == b"0"
        os.waitpid(pid, 0)
        assert this_process.deferred.pending  # the parent still frees its own
    finally:
        with this_process.deferred.taken():
            pass
