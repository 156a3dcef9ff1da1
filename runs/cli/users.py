"""``runs user create NAME --role ROLE``, ``runs user set-role NAME ROLE``, ``runs user ls``.

The CLI opens the database itself, so whoever can run it acts as an Admin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from runs.cli import CommandError, setup_django
from runs.cli.printing import print_table

ROLE_CHOICES = ("viewer", "operator", "admin")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "user", help="accounts and their roles (viewer, operator, admin)"
    )
    commands = parser.add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    create = commands.add_parser(
        "create", help="make an account with a role; asks for its password unless told otherwise"
    )
    create.add_argument("username")
    create.add_argument("--role", required=True, type=str.lower, choices=ROLE_CHOICES)
    source = create.add_mutually_exclusive_group()
    source.add_argument(
        "--password-file",
        metavar="FILE",
        help="read the password from the first line of FILE ('-': standard input)",
    )
    source.add_argument(
        "--no-password",
        action="store_true",
        help="no password: the account cannot sign in to the dashboard, only use API tokens",
    )
    create.set_defaults(handler=create_user)
    set_role = commands.add_parser("set-role", help="give an account another role")
    set_role.add_argument("username")
    set_role.add_argument("role", type=str.lower, choices=ROLE_CHOICES)
    set_role.set_defaults(handler=set_user_role)
    ls = commands.add_parser("ls", help="every account with its role, state and last sign-in")
    ls.set_defaults(handler=list_users)


def _password(args: argparse.Namespace) -> str | None:
    """The new account's password: from --password-file, else asked twice on the terminal."""
    if args.no_password:
        return None
    if args.password_file:
        try:
            if args.password_file == "-":
                text = sys.stdin.readline()
            else:
                text = Path(args.password_file).read_text()
        except OSError as exc:
            raise CommandError(
                f"Cannot read --password-file {args.password_file}: {exc.strerror}."
            ) from None
        password = text.splitlines()[0] if text else ""
        if not password:
            raise CommandError(
                f"--password-file {args.password_file} is empty; put the password "
                "on its first line."
            )
        return password
    if not sys.stdin.isatty():
        raise CommandError(
            "No terminal to ask for the password: give --password-file FILE (or '-' for standard "
            "input), or --no-password for an account that only uses API tokens."
        )
    password = getpass.getpass(f"Password for {args.username}: ")
    if password != getpass.getpass("The same password again: "):
        raise CommandError("The two passwords differ; run the command again.")
    return password


def create_user(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import users

    password = _password(args)
    try:
        user = users.create_user(username=args.username, role=args.role, password=password)
    except users.UserError as exc:
        raise CommandError(str(exc)) from None
    how = "" if password is not None else " (no password: API tokens only)"
    print(f"Created {user.get_username()} with the {args.role} role{how}.")
    return 0


def set_user_role(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import users

    try:
        user = users.set_user_role(username=args.username, role=args.role)
    except users.UserError as exc:
        raise CommandError(str(exc)) from None
    print(f"{user.get_username()} now has the {args.role} role.")
    if user.is_superuser and args.role != "admin":
        print(
            f"{user.get_username()} is a superuser and keeps every permission whatever the role; "
            "clear 'Superuser status' in /admin/ to limit them.",
            file=sys.stderr,
        )
    return 0


def list_users(args: argparse.Namespace) -> int:
    setup_django()
    from runs.services import users

    rows = []
    for account in users.list_users():
        role = account.role.lower() if account.role else "none"
        if account.is_superuser:
            role += " (superuser)"
        when = account.last_login.strftime("%Y-%m-%d %H:%M:%S") if account.last_login else "never"
        rows.append((account.username, role, "yes" if account.is_active else "no", when))
    print_table(("NAME", "ROLE", "ACTIVE", "LAST LOGIN"), rows)
    return 0
