"""Stored values made safe to print on a terminal, and the plain-text table the CLI prints.

Names, tags, parameters and messages come from whoever started a run or made a limit. Printed
as they are, an ESC (``\\x1b``) starts a terminal control sequence (colours, cursor moves,
window titles, on some terminals worse) and a newline breaks a table row in two. Every value
the CLI prints goes through :func:`safe`, which writes such characters the way Python's
``repr`` does (``\\x1b``, ``\\n``, ``\\t``), without the quotes.
"""

from __future__ import annotations

from collections.abc import Sequence

from runs.values import printable


def safe(value: object) -> str:
    """``value`` as text that prints as itself: control characters, DEL, line separators and
    bidirectional controls written escaped (``\\x1b``, ``\\n``), see runs.values.printable."""
    return printable(value)


def print_table(headers: Sequence[object], rows: Sequence[Sequence[object]]) -> None:
    """Print rows as an aligned plain-text table, one line per row, every cell through
    :func:`safe`."""
    cells = [[safe(h) for h in headers]] + [[safe(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))
