"""A flow's return value as its final state, the rule of Prefect 2's ``return_value_to_state``.

- Futures anywhere in the value (inside lists, tuples, sets and dicts) become their final
  states first; the caller gets the ``State`` objects.
- A State the flow made itself (not a run's) is the flow's state as it is.
- A run's State, or a non-empty list, tuple or set of States only, gives an aggregate state
  whose data is what was returned: COMPLETED if all completed, else CANCELLED if any was
  cancelled, else FAILED with a message counting them ("1/3 states failed.").
- A generator is kept as the list it yields; anything else completes the flow with it.
"""

from __future__ import annotations

from collections import Counter
from types import GeneratorType
from typing import TYPE_CHECKING, Any

from runs.futures import RunFuture
from runs.states import Cancelled, Completed, Failed, State, StateType, is_state_collection

if TYPE_CHECKING:
    from runs.context import AttemptRuns

_MAX_DEPTH = 8


def futures_to_states(value: Any, depth: int = 0) -> Any:
    """``value`` with every future, at any depth of its collections, replaced by its final
    state (waiting for it); the value itself when it holds none."""
    if isinstance(value, RunFuture):
        return value.wait()
    if depth > _MAX_DEPTH or not _holds_future(value, depth):
        return value
    if isinstance(value, list):
        return [futures_to_states(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        items = [futures_to_states(v, depth + 1) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, set | frozenset):
        return type(value)(futures_to_states(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: futures_to_states(v, depth + 1) for k, v in value.items()}
    return value


def _holds_future(value: Any, depth: int) -> bool:
    if isinstance(value, RunFuture):
        return True
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_future(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_holds_future(v, depth + 1) for v in value.values())
    return False


def is_run_state(state: State) -> bool:
    """Whether ``state`` is a run's (returned by a task or subflow), not made by the flow."""
    return state.task_run_id is not None or state.flow_run_id is not None


def aggregate_state(states: list[State], data: Any) -> State:
    """The state of a flow that returned ``data`` holding ``states``."""
    return aggregate_of(Counter(state.type for state in states), len(states), data)


def aggregate_of(counts: Counter, total: int, data: Any) -> State:
    """The state of a flow that returned ``data`` holding ``total`` states, ``counts`` of them
    by type."""
    if counts[StateType.COMPLETED] == total:
        return Completed("All states completed.", data=data)
    if counts[StateType.CANCELLED]:
        return Cancelled(f"{counts[StateType.CANCELLED]}/{total} states cancelled.", data=data)
    failed = counts[StateType.FAILED] + counts[StateType.CRASHED]
    if failed:
        return Failed(f"{failed}/{total} states failed.", data=data)
    final = sum(n for kind, n in counts.items() if State(kind).is_final())
    if final < total:
        return Failed(f"{total - final}/{total} states are not final.", data=data)
    given = ", ".join(f"{n} {kind.value}" for kind, n in sorted(counts.items()))
    return Failed(f"Given states: {given}", data=data)


def state_from_return(value: Any) -> State:
    """The final state of a flow run whose function returned ``value`` (see the module's
    docstring); its data is what the caller of the flow gets."""
    value = futures_to_states(value)
    if isinstance(value, State) and not is_run_state(value):
        return value if value.has_data else value.copy(data=None)
    if isinstance(value, State):
        return aggregate_state([value], value)
    if is_state_collection(value):
        return aggregate_state(list(value), value)
    if isinstance(value, GeneratorType):
        value = list(value)
    return Completed(data=value)


_FILLED_METHODS = (
    "__len__",
    "__iter__",
    "__reversed__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__contains__",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__add__",
    "__iadd__",
    "__mul__",
    "__rmul__",
    "__imul__",
    "__repr__",
    "__sizeof__",
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "index",
    "count",
    "copy",
    "sort",
    "reverse",
    "clear",
)


class RunStates(list):
    """The states of a flow run attempt's task runs, as the list a flow that returned None
    gives: made when first read (a flow run of a million task runs whose caller only looks at
    its state never makes them)."""

    __slots__ = ("_source",)

    def __init__(self, source: AttemptRuns) -> None:
        super().__init__()
        self._source: AttemptRuns | None = source

    def fill(self) -> RunStates:
        """Make the States now (this list is then a plain list in all but its type)."""
        source = self._source
        if source is not None:
            self._source = None
            list.extend(self, source.states())
        return self

    def __reduce_ex__(self, protocol: Any) -> tuple:
        """Pickled (and copied) as the plain list of its States."""
        return (list, (list.copy(self.fill()),))


def _filled(name: str):
    method = getattr(list, name)

    def call(self, *args, **kwargs):
        if getattr(self, "_source", None) is not None:
            self.fill()
        return method(self, *args, **kwargs)

    call.__name__ = name
    return call


for _name in _FILLED_METHODS:
    setattr(RunStates, _name, _filled(_name))
