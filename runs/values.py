"""Values made safe where they enter the run history.

Whatever a user's code hands the engine (parameters, names, tags, messages, log lines) is
stored as rows; a value the database cannot hold must never stop the history of a process. The
rules, the same on SQLite and PostgreSQL:

- non-finite floats become the JSON strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``
  (neither database's JSON type takes them);
- NUL characters become U+FFFD (PostgreSQL's text and JSON types refuse them);
- names are cut to their column's length, the cut marked with an ellipsis;
- log and state messages are capped at ``RUNS_LOG_MESSAGE_MAX_LENGTH`` characters, the cut
  saying how much was cut.

Pure Python, no Django: cheap on the hot path, where most values pass a single check.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from runs import conf

REPLACEMENT = "\ufffd"
ELLIPSIS = "\u2026"

#: The lowest RUNS_LOG_MESSAGE_MAX_LENGTH accepted: shorter messages pass without reading it.
SHORTEST_LIMIT = 100

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def clean_text(text: str) -> str:
    """``text`` with every NUL character replaced by U+FFFD."""
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


def cut(text: str, length: int) -> str:
    """``text`` without NULs, at most ``length`` characters; a cut ends with an ellipsis."""
    text = clean_text(text)
    if len(text) <= length:
        return text
    return text[: length - 1] + ELLIPSIS


def capped_message(text: str, limit: int | None = None) -> str:
    """A log or state message without NULs, capped at ``limit`` characters (default: the
    ``RUNS_LOG_MESSAGE_MAX_LENGTH`` setting); the cut is marked with how many were cut."""
    if len(text) <= SHORTEST_LIMIT and limit is None:
        return clean_text(text)  # within any limit: no need to read the setting
    if limit is None:
        limit = message_limit()
    text = clean_text(text)
    if len(text) <= limit:
        return text
    dropped = len(text) - limit
    return f"{text[:limit]}{ELLIPSIS} [{dropped:,} more characters cut]"


def message_limit() -> int:
    """RUNS_LOG_MESSAGE_MAX_LENGTH."""
    return conf.settings.RUNS_LOG_MESSAGE_MAX_LENGTH


def json_safe(value: Any) -> Any:
    """``value`` as JSON both databases store: non-finite floats as strings, NULs replaced.

    Containers are copied only when something inside them must change. Anything that is not
    JSON (an object, a set) is left for the caller: see :func:`jsonable`.
    """
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else _non_finite(value)
    if kind is str:
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float):  # a float subclass (numpy.float64)
        return float(value) if math.isfinite(value) else _non_finite(value)
    return value


def _non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else _NON_FINITE[value]


def jsonable(value: Any) -> Any:
    """``value`` as a JSON value that can be stored, or ``None`` when it is not JSON at all
    (the caller records a repr instead). Deeply nested values count as not JSON."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:  # NaN or Infinity somewhere inside
        safe = json_safe(value)
        try:
            json.dumps(safe, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return None
        return safe
    except (TypeError, RecursionError):
        return None
    return json_safe(value) if "\\u0000" in text else value


def safe_repr(value: Any, length: int = 1000) -> str:
    """``repr(value)`` cut to ``length``; a broken ``__repr__`` gives the type's name."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return cut(text, length)


#: What a terminal acts on rather than shows: C0 and C1 control characters, DEL, and the line
#: separators and bidirectional controls that make text show in another order than stored.
_TERMINAL_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def printable(value: object, keep: str = "") -> str:
    """``value`` as text that prints as itself on a terminal: the characters a terminal would
    act on (ESC sequences, newlines, bidirectional overrides) are written as ``repr`` writes
    them (``\\x1b``, ``\\n``, ``\\u202e``), except those in ``keep`` (a console log keeps a
    traceback's newlines). ``None`` prints as nothing; backslashes are not doubled."""
    text = "" if value is None else str(value)
    if _TERMINAL_CONTROLS.search(text) is None:
        return text

    def escape(match: re.Match) -> str:
        char = match.group()
        return char if char in keep else repr(char)[1:-1]

    return _TERMINAL_CONTROLS.sub(escape, text)
