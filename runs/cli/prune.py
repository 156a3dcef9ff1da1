"""``runs prune --older-than 30d [--dry-run]``: delete old finished runs and their results."""

from __future__ import annotations

import argparse
import sys

from runs.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prune", help="delete finished flow runs older than an age, with their history"
    )
    parser.add_argument(
        "--older-than",
        required=True,
        metavar="AGE",
        help="age such as 30d, 12h, 2w (finished runs that ended before then)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be removed, remove nothing"
    )
    parser.set_defaults(handler=prune)


def prune(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services.prune import PruneError, parse_age
    from runs.services.prune import prune as run_prune

    try:
        age = parse_age(args.older_than)
    except PruneError as exc:
        raise CommandError(str(exc)) from None
    result = run_prune(older_than=age, dry_run=args.dry_run, progress=_progress_printer())
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(result.summary())
    return 0


def _progress_printer():
    """On a terminal, one line on stderr that counts the flow runs done so far."""
    if not sys.stderr.isatty():
        return None

    def show(result) -> None:
        verb = "checked" if result.dry_run else "removed"
        print(
            f"\r{result.flow_runs} flow runs and {result.task_runs} task runs {verb} so far...",
            end="",
            file=sys.stderr,
            flush=True,
        )

    return show
