"""The queue order on its own: plain data in, who waits and who goes out, no database."""

from __future__ import annotations

import datetime as dt

from runs_limits.slots import decisions, queue_order
from runs_limits.slots.queue_order import Blocking, Limit, Load, Waiter

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def place(seconds: float, run: str) -> tuple[str, str]:
    """A place as the stores make it: (enqueue time, run id), both as strings."""
    return (str(T0 + dt.timedelta(seconds=seconds)), run)


def queue(*waiters: tuple[float, str], me: str = "me") -> list[Waiter]:
    return [Waiter(run == me, place(seconds, run)) for seconds, run in waiters]


def test_a_run_goes_at_once_only_with_room_everywhere_and_nobody_queued():
    roomy = Load("a", "a", allowed=2, held=1, queued=0)
    assert queue_order.room_in_every_limit([roomy])
    assert not queue_order.room_in_every_limit([roomy, Load("b", "b", 2, held=2, queued=0)])
    # Room, but somebody queued: the careful path decides, so nobody jumps the queue.
    assert not queue_order.room_in_every_limit([roomy, Load("b", "b", 5, held=0, queued=1)])


def test_the_first_limit_of_zero_closes_the_run():
    limits = [Limit("a", "a", 3), Limit("b", "b", 0), Limit("c", "c", 0)]
    assert queue_order.closed_limit(limits) == Limit("b", "b", 0)
    assert queue_order.closed_limit([Limit("a", "a", 1)]) is None


def test_everybody_queued_is_ahead_of_a_run_not_queued_yet():
    assert queue_order.ahead_of_me(queue((1, "x"), (2, "y"))) == 2
    assert queue_order.ahead_of_me([]) == 0


def test_only_those_queued_before_me_are_ahead():
    assert queue_order.ahead_of_me(queue((1, "x"), (2, "me"), (3, "y"))) == 1
    assert queue_order.ahead_of_me(queue((3, "y"), (2, "me"))) == 0


def test_ties_in_time_are_broken_by_run_id_the_same_way_in_every_queue():
    at_once = queue((1, "z-run"), (1, "me"), (1, "a-run"))
    assert queue_order.ahead_of_me(at_once) == 1  # "a-run" < "me" < "z-run"


def test_a_run_is_blocked_where_holders_and_those_ahead_fill_the_limit():
    limits = [Limit("a", "a", 2), Limit("b", "b", 2), Limit("c", "c", 1)]
    held = {"a": 1, "b": 2}
    queues = {"a": queue((0.5, "x")), "c": queue((1, "me"))}
    assert queue_order.blocking(limits, held, queues) == [
        Blocking("a", "a", 2, holders=1, ahead=1),
        Blocking("b", "b", 2, holders=2, ahead=0),
    ]  # c: first in line and nobody holds it


def test_the_first_in_line_waits_only_for_a_slot():
    [blocked] = queue_order.blocking(
        [Limit("a", "a", 1)], {"a": 1}, {"a": queue((1, "me"), (2, "y"))}
    )
    assert blocked.first_in_line
    [behind] = queue_order.blocking([Limit("a", "a", 1)], {}, {"a": queue((1, "x"), (2, "me"))})
    assert not behind.first_in_line and behind.holders == 0


def test_limit_ids_are_matched_as_strings():
    class Id:  # what a database driver may hand back instead of a str
        def __str__(self) -> str:
            return "a"

    [blocked] = queue_order.blocking([Limit(Id(), "a", 1)], {"a": 1}, {})
    assert blocked.holders == 1


def test_a_run_queues_only_where_it_is_blocked_and_not_queued_yet():
    blocked = [Blocking("a", "a", 1, 1, 0), Blocking("b", "b", 1, 1, 0)]
    queues = {"a": queue((1, "me")), "b": queue((1, "x"))}
    assert queue_order.queues_to_join(blocked, queues) == ["b"]
    assert queue_order.queued_on(queues) == {"a"}


def test_a_run_waits_in_line_without_locks_only_when_queued_wherever_blocked():
    a, b = Blocking("a", "a", 1, 1, 0), Blocking("b", "b", 1, 1, 0)
    queues = {"a": queue((1, "me")), "b": queue((1, "x"))}
    assert queue_order.waits_in_line([a], queues)
    assert not queue_order.waits_in_line([a, b], queues)  # it must queue on b first
    assert not queue_order.waits_in_line([], queues)  # nothing blocks: it may go


def test_a_run_already_queued_elsewhere_is_judged_by_that_place_where_it_is_not_yet():
    # "me" queued on a at 1 s (a was full). a's holder ended; b now has two runs queued at 2
    # and 3 s. Joining b, "me" takes its place of 1 s: first in line on both limits, it goes.
    # Counted from the end of b's queue it would wait behind runs that wait for it.
    a, b = Limit("a", "a", 1), Limit("b", "b", 2)
    queues = {"a": queue((1, "me"), (2, "x")), "b": queue((2, "x"), (3, "y"))}
    assert queue_order.my_place(queues) == place(1, "me")
    assert queue_order.ahead_of_me(queues["b"], queue_order.my_place(queues)) == 0
    assert queue_order.blocking([a, b], {}, queues) == []
    # A run queued nowhere yet is behind everyone.
    assert queue_order.my_place({"b": queues["b"]}) is None
    assert queue_order.blocking([b], {}, {"b": queues["b"]}) == [
        Blocking("b", "b", 2, holders=0, ahead=2)
    ]


def test_a_run_queued_on_several_tags_keeps_its_first_place_in_all():
    first_queued = T0
    assert queue_order.first_place(first_queued, T0 + dt.timedelta(seconds=5)) == first_queued
    assert queue_order.first_place(None, T0) == T0


def test_two_runs_on_two_tags_never_each_wait_for_the_other():
    # "early" queued on a at 1 s; "late" queued on a and b at 2 s; now b is full too, and
    # early joins b's queue. With its first place it is ahead in both; with a new place
    # (3 s) each would be ahead of the other in one queue, and both would wait for ever.
    a, b = Limit("a", "a", 1), Limit("b", "b", 1)
    joined_at = queue_order.first_place(T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=3))
    early_place = (str(joined_at), "early")
    queues_seen_by = {
        "early": {
            "a": [Waiter(True, early_place), Waiter(False, place(2, "late"))],
            "b": [Waiter(False, place(2, "late")), Waiter(True, early_place)],
        },
        "late": {
            "a": [Waiter(False, early_place), Waiter(True, place(2, "late"))],
            "b": [Waiter(True, place(2, "late")), Waiter(False, early_place)],
        },
    }
    free = {}  # both limits just freed
    early = queue_order.blocking([a, b], free, queues_seen_by["early"])
    late = queue_order.blocking([a, b], free, queues_seen_by["late"])
    assert early == []  # first in line everywhere: it goes
    assert [blocked.tag for blocked in late] == ["a", "b"]


def test_served_first_come_first_served_as_slots_free_up():
    # Five runs queue in order on a limit of 1; each time the holder leaves, exactly the
    # oldest waiter finds nothing blocking it.
    limit = Limit("t", "t", 1)
    queued_at = {f"run-{i}": float(i) for i in range(5)}
    waiting = sorted(queued_at, reverse=True)  # the order of the rows does not matter
    served = []
    while waiting:
        line = [(queued_at[run], run) for run in waiting]
        goes = [
            run
            for run in waiting
            if not queue_order.blocking([limit], {}, {"t": queue(*line, me=run)})
        ]
        assert len(goes) == 1
        served.append(goes[0])
        waiting.remove(goes[0])
    assert served == [f"run-{i}" for i in range(5)]


def test_a_wait_names_the_tag_how_full_it_is_and_how_many_are_ahead():
    decision = decisions.wait(Blocking("a", "db", allowed=2, holders=2, ahead=3))
    assert (decision.status, decision.tag, decision.limit, decision.holders) == ("wait", "db", 2, 2)
    assert decision.message == "Waiting for a slot of tag 'db': 2 of 2 in use, 3 waiting ahead."
    assert "waiting ahead" not in decisions.wait(Blocking("a", "db", 1, 1, 0)).message


def test_a_limit_of_zero_says_how_to_let_its_runs_run():
    decision = decisions.abort("db")
    assert decision.status == "abort" and decision.limit == 0
    assert "runs concurrency-limit create db N" in decision.message
