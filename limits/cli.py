"""``runs concurrency-limit create TAG LIMIT | delete TAG | inspect TAG | ls``."""

from __future__ import annotations

import argparse

from runs.cli import CommandError, setup_django
from runs.cli.printing import print_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("concurrency-limit", help="tag concurrency limits")
    commands = parser.add_subparsers(dest="limit_command", metavar="COMMAND", required=True)
    create = commands.add_parser("create", help="set the limit of a tag (creates or updates)")
    create.add_argument("tag")
    create.add_argument("limit")
    create.set_defaults(handler=create_limit)
    delete = commands.add_parser("delete", help="remove the limit of a tag")
    delete.add_argument("tag")
    delete.set_defaults(handler=delete_limit)
    inspect = commands.add_parser(
        "inspect", help="a limit, its active slots and the runs holding them"
    )
    inspect.add_argument("tag")
    inspect.set_defaults(handler=inspect_limit)
    ls = commands.add_parser("ls", help="every limit")
    ls.set_defaults(handler=list_limits)


def create_limit(args: argparse.Namespace) -> int:
    setup_django()
    from runs_limits import services

    try:
        limit, created = services.create_limit(tag=args.tag, concurrency_limit=args.limit)
    except services.LimitError as exc:
        raise CommandError(str(exc)) from None
    verb = "Created" if created else "Updated"
    print(
        f"{verb} concurrency limit on tag {limit.tag!r}: {limit.concurrency_limit} (id {limit.id})."
    )
    return 0


def delete_limit(args: argparse.Namespace) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs_limits import services

    try:
        services.delete_limit_by_tag(tag=args.tag)
    except (services.LimitError, ObjectNotFound) as exc:
        raise CommandError(str(exc)) from None
    print(f"Deleted concurrency limit on tag {args.tag!r}.")
    return 0


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def inspect_limit(args: argparse.Namespace) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs_limits import selectors

    try:
        limit = selectors.get_limit_by_tag(args.tag)
    except ObjectNotFound as exc:
        raise CommandError(str(exc)) from None
    slots = list(selectors.holders(limit))
    print_table(
        ["TAG", "LIMIT", "ACTIVE SLOTS", "ID"],
        [[limit.tag, limit.concurrency_limit, len(slots), limit.id]],
    )
    print()
    if slots:
        print_table(
            ["TASK RUN", "ID", "STATE", "STARTED"],
            [
                [
                    s.task_run.name,
                    s.task_run_id,
                    s.task_run.state_name,
                    _when(s.task_run.start_time),
                ]
                for s in slots
            ],
        )
    else:
        print("No task run holds a slot.")
    waiting = list(selectors.waiters(limit))
    if waiting:
        print()
        print_table(
            ["WAITING TASK RUN", "ID", "SINCE"],
            [[w.task_run.name, w.task_run_id, _when(w.enqueued)] for w in waiting],
        )
    return 0


def list_limits(args: argparse.Namespace) -> int:
    setup_django()
    from runs_limits import selectors

    limits = list(selectors.list_limits())
    if not limits:
        print("No concurrency limits. Create one: runs concurrency-limit create TAG LIMIT")
        return 0
    print_table(
        ["TAG", "LIMIT", "ACTIVE SLOTS", "ID"],
        [
            [limit.tag, limit.concurrency_limit, len(selectors.active_slots(limit)), limit.id]
            for limit in limits
        ],
    )
    return 0
