"""State badges: one colour family per state type, a distinct look and symbol per state name.

TimedOut must not look like Failed, nor Retrying like Running: each name gets its own shade,
pattern and symbol inside its type's family, and the name is always written out.
"""

from __future__ import annotations

from dataclasses import dataclass

from runs.states import STATE_NAMES


@dataclass(frozen=True)
class Badge:
    """How one state is shown: its name, type family, CSS modifier, symbol and bar colour."""

    name: str
    type: str
    css: str
    symbol: str
    color: str  # fill used by the timeline for this state


# name -> (symbol, timeline colour). Symbols are in DejaVu Sans, so they render without emoji fonts.
_LOOK: dict[str, tuple[str, str]] = {
    "Scheduled": ("◌", "#d4a017"),
    "AwaitingRetry": ("↻", "#b7791f"),
    "Pending": ("○", "#94a3b8"),
    "AwaitingConcurrencySlot": ("⊡", "#64748b"),
    "Running": ("●", "#2563eb"),
    "Retrying": ("↻", "#7c3aed"),
    "Completed": ("✓", "#16a34a"),
    "Cached": ("◆", "#0d9488"),
    "Failed": ("✗", "#dc2626"),
    "TimedOut": ("◷", "#9f1239"),
    "Aborted": ("⊘", "#b91c1c"),
    "UpstreamFailed": ("⤓", "#f87171"),
    "Crashed": ("⚠", "#ea580c"),
    "Cancelled": ("⊝", "#6b7280"),
}

_TYPE_DEFAULT_NAME = {
    "SCHEDULED": "Scheduled",
    "PENDING": "Pending",
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "CRASHED": "Crashed",
    "CANCELLED": "Cancelled",
}


def badge_for(state_type: str | None, state_name: str | None) -> Badge:
    """The badge of a state given its type and name; unknown names fall back to their type's look."""
    state_type = (state_type or "").upper()
    name = state_name or _TYPE_DEFAULT_NAME.get(state_type, "Unknown")
    if not state_type and name in STATE_NAMES:
        state_type = STATE_NAMES[name].value
    look_name = name if name in _LOOK else _TYPE_DEFAULT_NAME.get(state_type, "Pending")
    symbol, color = _LOOK[look_name]
    css = f"badge badge--{state_type.lower() or 'unknown'} badge--{look_name.lower()}"
    return Badge(name=name, type=state_type, css=css, symbol=symbol, color=color)


def state_color(state_name: str | None, state_type: str | None = None) -> str:
    """The fill colour of a state in charts."""
    return badge_for(state_type, state_name).color


#: Every state name a filter can offer, grouped in the order runs move through them.
STATE_NAME_CHOICES = list(_LOOK)
STATE_TYPE_CHOICES = list(_TYPE_DEFAULT_NAME)
