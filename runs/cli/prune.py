"""``runs prune --older-than 30d [--dry-run]``: delete old finished runs and their results."""

from __future__ import annotations

import argparse

from runs.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prune", help="delete finished flow runs older than an age, with their history")
    parser.add_argument("--older-than", required=True, metavar="AGE",
                        help="age such as 30d, 12h, 2w (finished runs that ended before then)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be removed, remove nothing")
    parser.set_defaults(handler=prune)


def prune(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services.prune import PruneError, parse_age
    from runs.services.prune import prune as run_prune

    try:
        age = parse_age(args.older_than)
    except PruneError as exc:
        raise CommandError(str(exc)) from None
    print(run_prune(older_than=age, dry_run=args.dry_run).summary())
    return 0
