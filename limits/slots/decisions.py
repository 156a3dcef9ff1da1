"""The answers to a request for slots, with the messages a user reads."""

from __future__ import annotations

from dataclasses import dataclass

from runs_limits.slots.queue_order import Blocking


@dataclass(frozen=True)
class SlotDecision:
    """The answer to a request for slots."""

    status: str  # "acquired" | "wait" | "abort" | "unlimited"
    tag: str | None = None
    limit: int | None = None
    holders: int = 0
    message: str = ""


ACQUIRED = SlotDecision("acquired")
UNLIMITED = SlotDecision("unlimited")


def wait(blocked: Blocking) -> SlotDecision:
    """Told to wait, naming the first limit that blocks and how full it is."""
    queue = f", {blocked.ahead} waiting ahead" if blocked.ahead else ""
    return SlotDecision(
        "wait",
        tag=blocked.tag,
        limit=blocked.allowed,
        holders=blocked.holders,
        message=f"Waiting for a slot of tag {blocked.tag!r}: "
        f"{blocked.holders} of {blocked.allowed} in use{queue}.",
    )


def abort(tag: str) -> SlotDecision:
    """A limit of 0: the run is aborted, and the message says how to let such runs run."""
    return SlotDecision(
        "abort",
        tag=tag,
        limit=0,
        message=f"The concurrency limit of tag {tag!r} is 0: task runs with this "
        "tag are aborted, never run. Raise the limit with "
        f"`runs concurrency-limit create {tag} N` to let them run.",
    )


def from_status(status: str) -> SlotDecision:
    """The decision for a bare status (the PostgreSQL fast path answers with one)."""
    if status == "acquired":
        return ACQUIRED
    if status == "unlimited":
        return UNLIMITED
    return SlotDecision(status)
