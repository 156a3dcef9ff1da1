"""Wrappers for task inputs: ``unmapped`` values and ``allow_failure`` upstreams."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class unmapped(Generic[T]):  # noqa: N801  (the name users know from Prefect)
    """Pass the same value to every run of a ``.map()``, even when it is iterable."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __getitem__(self, _index: int) -> T:
        return self.value

    def __repr__(self) -> str:
        return f"unmapped({self.value!r})"


class allow_failure(Generic[T]):  # noqa: N801
    """Let a task run after this upstream whatever its final state (its value or exception is passed)."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"allow_failure({self.value!r})"
