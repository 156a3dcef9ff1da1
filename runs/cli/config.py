"""``runs config set NAME=VALUE | unset NAME | view``: settings kept in $RUNS_HOME/profiles.toml."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit, urlunsplit

from runs import conf
from runs.cli import CommandError
from runs.cli.printing import print_table, safe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="view and change settings")
    commands = parser.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    set_ = commands.add_parser("set", help="set NAME=VALUE in the active profile")
    set_.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    set_.set_defaults(handler=set_settings)
    unset = commands.add_parser("unset", help="remove NAME from the active profile")
    unset.add_argument("names", nargs="+", metavar="NAME")
    unset.set_defaults(handler=unset_settings)
    view = commands.add_parser("view", help="every setting in force and where it came from")
    view.add_argument("--all", action="store_true", help="also settings left at their default")
    view.set_defaults(handler=view_settings)


def _split(assignment: str) -> tuple[str, str]:
    if "=" not in assignment:
        raise CommandError(f"Expected NAME=VALUE, got {assignment!r}.")
    name, value = assignment.split("=", 1)
    return name.strip(), value.strip()


def _assignments(tokens: list[str]) -> list[tuple[str, str]]:
    """NAME=VALUE pairs; ``NAME = [1, 10, 100]`` (as the Prefect docs write it) is one pair."""
    separate = all("=" in t and not t.startswith("=") and t.split("=", 1)[1] != "" for t in tokens)
    if separate:
        return [_split(t) for t in tokens]
    return [_split(" ".join(tokens))]


#: Settings whose values are secrets: shown cut (their first characters only).
SECRET_SETTINGS = frozenset({"RUNS_API_KEY", "RUNS_SECRET_KEY", "RUNS_ADMIN_PASSWORD"})
#: Settings holding URLs, whose password (if any) is hidden.
URL_SETTINGS = frozenset({"DATABASE_URL", "CELERY_BROKER_URL", "RUNS_API_URL"})


def shown(name: str, value: object) -> object:
    """``value`` as the terminal may show it: secrets cut, URLs without their password."""
    if value in (None, ""):
        return value
    text = str(value)
    if name in SECRET_SETTINGS:
        return f"{text[:4]}… (hidden, {len(text)} characters)"
    if name in URL_SETTINGS:
        parts = urlsplit(text)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            return urlunsplit(parts._replace(netloc=netloc))
    return value


#: Exit status of a value the runtime would refuse (nothing is saved).
INVALID_VALUE = 2


def set_settings(args: argparse.Namespace) -> int:
    """Save NAME=VALUE pairs in the active profile, all or none: each value is first checked by
    the same parser the runtime reads it with, and a refused one saves nothing (status 2)."""
    settings = conf.settings
    pairs = [
        (conf.ALIASES.get(name, name), value) for name, value in _assignments(args.assignments)
    ]
    for name, value in pairs:
        if name == "RUNS_HOME":
            raise CommandError(
                "RUNS_HOME cannot be set in a profile (the profile lives in it); "
                "set it in the environment."
            )
        try:
            conf.parse_setting(name, value, "runs config set")
        except conf.SettingError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return INVALID_VALUE
    for name, value in pairs:
        conf.write_profile_value(settings.profile_path, name, value)
        print(f"Set {name}={safe(shown(name, value))} in {settings.profile_path}")
        if name in settings._environ:
            print(f"Note: {name} is also set in the environment, which takes precedence.")
    return 0


def unset_settings(args: argparse.Namespace) -> int:
    settings = conf.settings
    current = conf.read_profile(settings.profile_path)
    names = [conf.ALIASES.get(name, name) for name in args.names]
    for name in names:
        if name not in conf.SETTINGS:
            raise CommandError(f"Unknown setting {name!r}.")
        if name not in current:
            raise CommandError(f"{name} is not set in {settings.profile_path}.")
    for name in names:
        conf.write_profile_value(settings.profile_path, name, None)
        print(f"Unset {name} in {settings.profile_path}")
    return 0


def view_settings(args: argparse.Namespace) -> int:
    settings = conf.settings
    rows = []
    for name in conf.SETTINGS:
        try:
            value = getattr(settings, name)
            source = settings.source(name)
        except conf.SettingError as exc:
            raise CommandError(str(exc)) from None
        if source == "default" and not args.all:
            continue
        rows.append([name, shown(name, value), source])
    print(f"Profile file: {settings.profile_path}")
    if not rows:
        print("Every setting is at its default (runs config view --all lists them).")
        return 0
    print_table(["SETTING", "VALUE", "FROM"], rows)
    return 0
