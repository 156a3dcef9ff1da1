"""Run names: the one place a ``task_run_name`` or ``flow_run_name`` becomes a run's name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def format_run_name(
    template: str | Callable[[], Any], parameters: dict[str, Any], *, kind: str, owner: str
) -> str:
    """The name a ``{kind}_run_name`` template gives a run of ``owner`` (a task or flow name):
    a callable's answer as text, or the string formatted with the run's parameters.

    A template that names a missing parameter, or cannot be formatted, is a ValueError that
    says which parameters there are; one that is neither a string nor a callable, or a callable
    that answers anything but a string, a TypeError.
    """
    if callable(template):
        name = template()
        if not isinstance(name, str):
            raise TypeError(
                f"Callable {getattr(template, '__name__', template)!r} for '{kind}_run_name' of "
                f"{kind} {owner!r} returned type {type(name).__name__} but a string is required. "
                "Return the name as text."
            )
        return name
    if not isinstance(template, str):
        raise TypeError(
            f"{kind}_run_name of {kind} {owner!r} must be a string or a callable; got "
            f'{template!r}. Write {kind}_run_name="{{argument}}-run" or pass a function that '
            "returns the name."
        )
    try:
        return template.format(**parameters)
    except KeyError as exc:
        raise ValueError(
            f"{kind}_run_name {template!r} of {kind} {owner!r} names {{{exc.args[0]}}}, which is "
            f"not an argument of the {kind}; its arguments are: "
            f"{', '.join(parameters) or 'none'}."
        ) from None
    except (IndexError, ValueError) as exc:
        raise ValueError(
            f"{kind}_run_name {template!r} of {kind} {owner!r} cannot be formatted: {exc}. "
            "Use {argument_name} placeholders."
        ) from None
