"""The protocol of orchestration rules, and the policy that asks them in order.

A rule looks at one thing about one kind of transition:

- ``from_types`` and ``to_types`` declare the transitions it is about: the type of the run's
  current state (``None`` for a run with no state yet) and the type of the proposed state. The
  policy asks a rule only about those.
- ``applies(t)`` narrows that down from the records; it only reads (no query, no change).
- ``needs_db(t)`` says whether deciding must read or lock rows: the transition is then decided
  and written inside one database transaction instead of through the write-behind buffer.
- ``decide(t)`` returns a :class:`~runs.orchestration.decisions.Decision`. It may act on other
  tables (take a concurrency slot), but changes the run's record only through the decision.

To add a rule: subclass :class:`Rule`, set its transitions, write ``decide``, and put an
instance at its place in ``TASK_RUN_POLICY`` or ``FLOW_RUN_POLICY`` (runs.orchestration.rules):
the order is part of the design (no slot is taken for a run a cached result answers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from runs.orchestration.decisions import ACCEPT, Decision, Verdict
from runs.orchestration.records import RunRecord, TaskRunRecord
from runs.states import FINAL_TYPES, State, StateType

#: Every state type, and "no state yet" (``None``), for ``from_types``.
ANY_STATE: frozenset[StateType | None] = frozenset(StateType) | {None}
ALL_TYPES: frozenset[StateType] = frozenset(StateType)
FINAL: frozenset[StateType] = frozenset(FINAL_TYPES)
RUNNING: frozenset[StateType] = frozenset({StateType.RUNNING})


@dataclass
class Transition:
    """A proposal under consideration; ``proposed`` is replaced as rules decide."""

    record: RunRecord
    proposed: State
    after_commit: list = field(default_factory=list)
    #: Whether the run is a task run (rules ask it several times per proposal).
    is_task: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.is_task = isinstance(self.record, TaskRunRecord)


class Rule:
    """A rule; subclasses set their transitions and override what they need."""

    from_types: frozenset[StateType | None] = ANY_STATE
    to_types: frozenset[StateType] = ALL_TYPES

    def covers(self, t: Transition) -> bool:
        """Whether ``t`` is one of the transitions this rule declares."""
        current = t.record.state
        return (
            t.proposed.type in self.to_types
            and (current.type if current is not None else None) in self.from_types
        )

    def applies(self, t: Transition) -> bool:
        return True

    def needs_db(self, t: Transition) -> bool:
        return False

    def decide(self, t: Transition) -> Decision:
        return ACCEPT


def _asks_db(rule: Rule) -> bool:
    """Whether ``rule`` has a ``needs_db`` of its own (the base one always answers False)."""
    own = getattr(rule.needs_db, "__func__", rule.needs_db)
    return own is not Rule.needs_db


class Policy:
    """An ordered tuple of rules; iterating yields them in order.

    Which rules declare which transitions is worked out once, here: for each pair of state
    types the policy keeps the rules to ask, so a proposal costs only the rules it concerns.
    """

    def __init__(self, *rules: Rule) -> None:
        self.rules: tuple[Rule, ...] = rules
        self._asked: dict[tuple[StateType | None, StateType], tuple[tuple[int, Rule], ...]] = {
            (current, proposed): tuple(
                (index, rule)
                for index, rule in enumerate(rules)
                if current in rule.from_types and proposed in rule.to_types
            )
            for current in ANY_STATE
            for proposed in ALL_TYPES
        }
        #: The same, only the rules that may ask for the database (their ``needs_db`` is their
        #: own): a proposal no such rule declares is decided without asking any ``applies``.
        self._db_asked: dict[tuple[StateType | None, StateType], tuple[Rule, ...]] = {
            pair: tuple(rule for _, rule in asked if _asks_db(rule))
            for pair, asked in self._asked.items()
        }

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"Policy({', '.join(type(rule).__name__ for rule in self.rules)})"

    def _declared(self, t: Transition, after: int = -1) -> tuple[tuple[int, Rule], ...]:
        """The rules (with their places) that declare ``t`` as proposed now, after ``after``."""
        current = t.record.state
        asked = self._asked[current.type if current is not None else None, t.proposed.type]
        return asked if after < 0 else tuple(pair for pair in asked if pair[0] > after)

    def needs_db(self, t: Transition) -> bool:
        """Whether deciding ``t`` must happen inside a database transaction."""
        current = t.record.state
        for rule in self._db_asked[current.type if current is not None else None, t.proposed.type]:
            if rule.applies(t) and rule.needs_db(t):
                return True
        return False

    def decide(self, t: Transition) -> Decision:
        """Ask each rule in order and return the outcome.

        A rule's state takes the proposal's place, and the later rules judge that state (an
        Aborted run waiting for a slot still leaves the queue). A reject ends the asking. The
        outcome is a reject with the state the run keeps, or the last verdict that replaced the
        proposal (accept, wait or abort) with the state to write. Updates are applied as each
        rule answers; ``after_commit`` callbacks are gathered on ``t``.
        """
        outcome = Verdict.ACCEPT
        asked = self._declared(t)
        k = 0
        while k < len(asked):
            index, rule = asked[k]
            k += 1
            if not rule.applies(t):
                continue
            decision = rule.decide(t)
            if decision is ACCEPT:
                continue
            for record, name, value in decision.updates:
                with record.lock:
                    setattr(record, name, value)
            if decision.after_commit is not None:
                t.after_commit.append(decision.after_commit)
            if decision.verdict is Verdict.REJECT:
                return Decision(Verdict.REJECT, t.record.state)
            if decision.state is not None:
                t.proposed = decision.state
                outcome = decision.verdict
            if decision.state is not None or decision.updates:
                # The transition changed: the rules still to ask are those declaring it now.
                asked, k = self._declared(t, index), 0
        return Decision(outcome, t.proposed)
