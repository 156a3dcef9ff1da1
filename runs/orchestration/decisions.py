"""What a rule answers about a proposed transition: accept, reject, wait or abort.

A rule never changes a run record or the transition itself: what follows from its answer (the
state to write instead of the proposal, record fields to set, work to do once the decision is
durable) travels in the :class:`Decision`, and the policy applies it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runs.orchestration.records import RunRecord
    from runs.states import State


class Verdict(enum.StrEnum):
    """The kind of a decision."""

    #: The proposal goes on (or ``state`` goes on in its place) to the next rules.
    ACCEPT = "accept"
    #: The run keeps its current state; nothing is written and no later rule is asked.
    REJECT = "reject"
    #: The run must wait (``state``, e.g. AwaitingConcurrencySlot) and propose again later.
    WAIT = "wait"
    #: The run ends now with ``state`` (a final state such as Aborted) instead of the proposal.
    ABORT = "abort"


#: ``(record, field, value)``: a field of a run record that follows from a decision.
Update = tuple["RunRecord", str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    """One rule's answer, or the policy's answer once every rule has been asked.

    ``state`` is the state to propose in place of the proposal (accept, wait, abort), or the
    state the run keeps (the policy's reject). ``updates`` are set on their records, under each
    record's lock, before the next rule is asked. ``after_commit`` runs once the decision is
    durable (after the transaction that wrote it, or at once for buffered writes).
    """

    verdict: Verdict
    state: State | None = None
    updates: tuple[Update, ...] = ()
    after_commit: Callable[[], None] | None = None

    @classmethod
    def accept(
        cls,
        state: State | None = None,
        *,
        updates: tuple[Update, ...] = (),
        after_commit: Callable[[], None] | None = None,
    ) -> Decision:
        """Let the proposal through, or put ``state`` in its place for the later rules."""
        if state is None and not updates and after_commit is None:
            return ACCEPT
        return cls(Verdict.ACCEPT, state, updates, after_commit)

    @classmethod
    def reject(cls, *, updates: tuple[Update, ...] = ()) -> Decision:
        """Keep the run's current state (after ``updates``, which may set it): nothing is
        written and no later rule is asked."""
        if not updates:
            return REJECT
        return cls(Verdict.REJECT, None, updates)

    @classmethod
    def wait(cls, state: State, *, updates: tuple[Update, ...] = ()) -> Decision:
        """The run cannot go on yet: ``state`` (a non-final state) is proposed instead, and the
        engine proposes again later."""
        return cls(Verdict.WAIT, state, updates)

    @classmethod
    def abort(cls, state: State, *, updates: tuple[Update, ...] = ()) -> Decision:
        """The run ends now with the final ``state`` instead of the proposal."""
        return cls(Verdict.ABORT, state, updates)


#: The common answers, shared so that the hot path allocates nothing.
ACCEPT = Decision(Verdict.ACCEPT)
REJECT = Decision(Verdict.REJECT)
