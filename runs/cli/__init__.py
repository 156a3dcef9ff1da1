"""The ``runs`` command: one sub-command module per job, each with a ``register(subparsers)``.

A sub-command handler receives the parsed arguments and returns an exit status. Errors a user
can cause are raised as :class:`CommandError` and printed as one line, with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from runs.cli.printing import print_table, safe
from runs.conf import SettingError

__all__ = ["CommandError", "main", "print_table", "safe", "setup_django"]

#: Modules that add sub-commands; each defines ``register(subparsers)``.
COMMAND_MODULES = [
    "runs.cli.flow_runs",
    "runs.cli.config",
    "runs_limits.cli",
    "runs.cli.worker",
    "runs.cli.scheduler",
    "runs.cli.up",
    "runs.cli.deploy",
    "runs.cli.deployments",
    "runs.cli.work_queues",
    "runs.cli.tokens",
    "runs.cli.users",
    "runs.cli.prune",
]


class CommandError(Exception):
    """A mistake in what the user asked for; printed as one line, exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runs", description="Prefect-style flows and tasks recorded in your Django database."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runs`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"Error: {safe(exc)}", file=sys.stderr)
        return 1
    except SettingError as exc:
        print(f"Error: {safe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`runs ... | head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def setup_django() -> None:
    """Make the database ready before a command reads or writes it."""
    from runs.bootstrap import ensure_ready

    ensure_ready()


if __name__ == "__main__":
    sys.exit(main())
