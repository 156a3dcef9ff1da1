"""``runs token create USERNAME`` and ``runs token revoke USERNAME``: API tokens for scripts."""

from __future__ import annotations

import argparse
import sys

from runs.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="API tokens for scripts")
    commands = parser.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create = commands.add_parser("create", help="print the API token of a user (made if needed)")
    create.add_argument("username")
    create.set_defaults(handler=create_token)
    revoke = commands.add_parser("revoke", help="delete a user's API token")
    revoke.add_argument("username")
    revoke.set_defaults(handler=revoke_token)


def create_token(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import tokens

    try:
        key, created = tokens.create_token(username=args.username)
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    print(key)
    if not created:
        print(
            f"({args.username} already had this token; `runs token revoke {args.username}` "
            "then create to get a new one.)",
            file=sys.stderr,
        )
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import tokens

    try:
        revoked = tokens.revoke_token(username=args.username)
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    if revoked:
        print(f"Revoked the API token of {args.username}.")
    else:
        print(f"{args.username} had no API token; nothing to revoke.")
    return 0
