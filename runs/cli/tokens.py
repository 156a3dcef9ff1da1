"""``runs token create|ls|revoke``: API tokens for scripts, hashed at rest, shown once.

``runs token create USERNAME [--expires 90d]`` prints a new key on stdout (and nothing else
there, so ``$(runs token create NAME)`` captures it) and on stderr its prefix and expiry;
``runs token ls [USERNAME]`` lists tokens by prefix; ``runs token revoke PREFIX`` removes one,
``runs token revoke --user NAME --all`` every token of a user.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

from runs.cli import CommandError, print_table, safe, setup_django

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d{1,6})([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``90d``, ``2w`` (or ``45s``) as a timedelta; argparse's ``type``."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give a positive whole number and a unit, "
            "s, m, h, d or w (seconds to weeks), e.g. 30m, 12h, 90d, 2w"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="API tokens for scripts")
    commands = parser.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create = commands.add_parser(
        "create", help="make a new API token for an existing user; its key is shown once"
    )
    create.add_argument("username")
    create.add_argument(
        "--expires",
        type=parse_duration,
        metavar="DURATION",
        help="expire after this long: 30m, 12h, 90d, 2w (default: never)",
    )
    create.set_defaults(handler=create_token)
    ls = commands.add_parser("ls", help="list API tokens (prefix, user, created, expiry)")
    ls.add_argument("username", nargs="?", help="only this user's tokens")
    ls.set_defaults(handler=list_tokens)
    revoke = commands.add_parser(
        "revoke", help="delete a token by its prefix, or every token of a user"
    )
    revoke.add_argument("prefix", nargs="?", help="the token's prefix, as `runs token ls` shows")
    revoke.add_argument("--user", metavar="NAME", help="with --all: the user whose tokens go")
    revoke.add_argument("--all", action="store_true", help="every token of --user")
    revoke.set_defaults(handler=revoke_token)


def create_token(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import tokens

    try:
        made = tokens.create_token(username=args.username, expires=args.expires)
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    print(made.key)
    expiry = f"expires {_when(made.expiry)}" if made.expiry else "never expires"
    print(
        f"Token {made.prefix} for {safe(args.username)}: shown once; store it now; {expiry}. "
        f"`runs token revoke {made.prefix}` withdraws it.",
        file=sys.stderr,
    )
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import tokens

    try:
        rows = tokens.list_tokens(args.username)
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    if not rows:
        print("No API tokens. `runs token create USERNAME` makes one.")
        return 0
    print_table(
        ["PREFIX", "USER", "CREATED", "EXPIRES", "STATUS"],
        [
            [
                row.prefix,
                row.username,
                _when(row.created),
                _when(row.expiry) if row.expiry else "never",
                "expired" if row.expired else "active",
            ]
            for row in rows
        ],
    )
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import tokens

    if args.prefix and (args.user or args.all):
        raise CommandError("Give a token's prefix, or --user NAME --all; not both.")
    if not args.prefix and not (args.user and args.all):
        raise CommandError(
            "Give the prefix of the token to revoke (`runs token ls` shows them), "
            "or --user NAME --all for every token of a user."
        )
    try:
        if args.prefix:
            tokens.revoke_token(prefix=args.prefix)
            print(f"Revoked the API token {safe(args.prefix)}.")
            return 0
        count = tokens.revoke_token(username=args.user)
    except tokens.TokenError as exc:
        raise CommandError(str(exc)) from None
    if count:
        print(f"Revoked {count} API token(s) of {safe(args.user)}.")
    else:
        print(f"{safe(args.user)} had no API token; nothing to revoke.")
    return 0


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
