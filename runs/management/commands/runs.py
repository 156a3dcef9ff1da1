"""``python manage.py runs ...``: runs' command line inside a host project's configured Django.

Every ``runs`` sub-command works here with the host's settings (``manage.py runs flow-run ls``,
``manage.py runs worker``): Django is already set up by ``manage.py``, so runs neither picks
its own settings nor migrates, and the worker's pool processes inherit the host's settings
module from the environment.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

#: Django's own options, read by manage.py before the command runs: not runs' to parse.
_DJANGO_OPTIONS = ("--settings", "--pythonpath")


def runs_argv(argv: list[str]) -> list[str]:
    """The arguments after ``manage.py runs``, without Django's own ``--settings``/``--pythonpath``."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _DJANGO_OPTIONS:
            skip = True
            continue
        if arg.startswith(tuple(f"{o}=" for o in _DJANGO_OPTIONS)):
            continue
        kept.append(arg)
    return kept


def run(argv: list[str]) -> int:
    """Run runs' CLI with ``argv``; a database without runs' tables is a one-line error."""
    from runs.bootstrap import NotMigratedError
    from runs.cli import main

    try:
        return main(argv)
    except NotMigratedError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1


class Command(BaseCommand):
    help = "runs' command line with this project's settings: manage.py runs --help lists it."

    def run_from_argv(self, argv: list[str]) -> None:
        """``manage.py runs ARGS``: every argument goes to runs' own parser (its --help too)."""
        status = run(runs_argv(argv[2:]))
        if status:
            sys.exit(status)

    def add_arguments(self, parser) -> None:
        import argparse

        parser.add_argument(
            "args", nargs=argparse.REMAINDER, help="a runs command and its arguments"
        )

    def handle(self, *args: str, **options) -> None:
        """``call_command("runs", "flow-run", "ls")``."""
        status = run(list(args))
        if status:
            raise CommandError(
                f"runs {' '.join(args)} ended with status {status}", returncode=status
            )
