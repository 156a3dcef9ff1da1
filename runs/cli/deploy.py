"""``runs deploy MODULE:FLOW``: register a flow so the web form and the API can start it."""

from __future__ import annotations

import argparse

from runs.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deploy", help="register a flow that the web form and API may start"
    )
    parser.add_argument("entrypoints", nargs="+", metavar="MODULE:FLOW")
    parser.set_defaults(handler=deploy)


def deploy(args: argparse.Namespace) -> int:
    setup_django()
    from runs.registry import RegistrationError, register_flow

    for entrypoint in args.entrypoints:
        try:
            row = register_flow(entrypoint)
        except RegistrationError as exc:
            raise CommandError(str(exc)) from None
        params = ", ".join(row.parameters_schema) or "no parameters"
        print(f"Registered flow {row.name!r} from {entrypoint} ({params}).")
    return 0
