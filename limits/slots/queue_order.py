"""Who may take a slot and who waits: first come, first served, over plain data.

Each limit has a queue of waiters, oldest first. A waiter's place is (the time its run first
queued, its run id): the run id breaks ties, and a run queued on several limits has the same
place in each, so no two runs can each be ahead of the other, which would leave both waiting
for ever. A run is blocked by a limit when the slots other runs hold there plus the waiters
ahead of it reach the limit; it is first in line where nobody is ahead of it.

Nothing here touches a database: the stores read the rows and ask these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple


class Limit(NamedTuple):
    """A tag's limit: its row id, its tag and how many runs it allows at once."""

    id: Any
    tag: str
    allowed: int


class Load(NamedTuple):
    """A limit with the slots other runs hold in it and the length of its queue."""

    id: Any
    tag: str
    allowed: int
    held: int
    queued: int


class Waiter(NamedTuple):
    """A place in a limit's queue, and whether it is the asking run's own."""

    mine: bool
    place: tuple


class Blocking(NamedTuple):
    """A limit that keeps a run waiting: its slots held by others and the waiters ahead."""

    limit_id: Any
    tag: str
    allowed: int
    holders: int
    ahead: int

    @property
    def first_in_line(self) -> bool:
        """Whether nobody waits ahead of the run here (it waits for a slot, not for others)."""
        return self.ahead == 0


Queues = Mapping[str, Sequence[Waiter]]


def room_in_every_limit(loads: Iterable[Load]) -> bool:
    """Whether a run may take a slot of each limit at once: room in all, and nobody queued."""
    return all(load.queued == 0 and load.held < load.allowed for load in loads)


def closed_limit(limits: Iterable[Limit]) -> Limit | None:
    """The first limit of 0, whose runs are aborted rather than queued; else None."""
    return next((limit for limit in limits if limit.allowed == 0), None)


def ahead_of_me(queue: Sequence[Waiter], my_place: tuple | None = None) -> int:
    """How many waiters of ``queue`` come before the asking run: those before its place in
    it, else before ``my_place`` (the place it holds in other queues, which it takes here
    too when it joins), else all of them."""
    mine = [place for is_mine, place in queue if is_mine]
    mark = mine[0] if mine else my_place
    if mark is None:
        return len(queue)
    return sum(1 for is_mine, place in queue if not is_mine and place < mark)


def my_place(queues: Queues) -> tuple | None:
    """The asking run's place where it is queued already (the same in every queue), or None."""
    places = [place for queue in queues.values() for is_mine, place in queue if is_mine]
    return min(places) if places else None


def blocking(limits: Iterable[Limit], held: Mapping[str, int], queues: Queues) -> list[Blocking]:
    """The limits, in the order given, where the asking run may not take a slot now.

    ``held`` is the number of slots other runs hold per limit id (as a string), ``queues``
    the waiters per limit id (as a string). A run queued somewhere already is judged by that
    place in every queue, also those it has not joined yet: joining them, it takes the same
    place, and may be first in line there at once (judged by the end of the queue instead,
    it would be told to wait behind runs that are waiting for it, and nobody would wake it).
    """
    found = []
    place = my_place(queues)
    for limit_id, tag, allowed in limits:
        key = str(limit_id)
        ahead = ahead_of_me(queues.get(key, ()), place)
        holders = held.get(key, 0)
        if holders + ahead >= allowed:
            found.append(Blocking(limit_id, tag, allowed, holders, ahead))
    return found


def queued_on(queues: Queues) -> set[str]:
    """The limit ids (as strings) whose queue holds the asking run."""
    return {limit_id for limit_id, queue in queues.items() if any(w.mine for w in queue)}


def queues_to_join(blocked: Iterable[Blocking], queues: Queues) -> list[str]:
    """The limit ids (as strings) that block the run and whose queue it is not in yet."""
    already = queued_on(queues)
    joining: list[str] = []
    for limit in blocked:
        key = str(limit.limit_id)
        if key not in already and key not in joining:
            joining.append(key)
    return joining


def waits_in_line(blocked: Sequence[Blocking], queues: Queues) -> bool:
    """Whether a run can be told to wait without deciding again under locks: something blocks
    it, and it already has its place in every queue that does."""
    if not blocked:
        return False
    already = queued_on(queues)
    return all(str(limit.limit_id) in already for limit in blocked)


def first_place(earliest: Any, now: Any) -> Any:
    """The time a run joins new queues at: the time it first queued anywhere, else now.

    Keeping one place in every queue is what keeps two runs from each waiting for the other."""
    return earliest if earliest is not None else now
