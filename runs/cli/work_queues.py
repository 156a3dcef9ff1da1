"""``runs work-queue create|ls|inspect|pause|resume|set-concurrency-limit|clear-concurrency-limit|
delete``: the queues flow runs wait in for room to start."""

from __future__ import annotations

import argparse

from runs.cli import CommandError, setup_django
from runs.cli.printing import print_table, safe

#: The flag or argument a service's field is given by.
_FLAGS = {"name": "NAME", "concurrency_limit": "--limit", "description": "--description"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "work-queue", help="work queues: where flow runs wait for room to start"
    )
    commands = parser.add_subparsers(dest="work_queue_command", metavar="COMMAND", required=True)
    create = commands.add_parser(
        "create", help="make a work queue (`runs worker -Q NAME` serves it)"
    )
    create.add_argument("name", metavar="NAME")
    create.add_argument("--limit", help="flow runs of the queue that may run at once (none: any)")
    create.add_argument("--description", default="", help="what the queue is for")
    create.add_argument("--paused", action="store_true", help="make it paused")
    create.set_defaults(handler=create_queue)
    commands.add_parser("ls", help="every work queue with its counts").set_defaults(
        handler=list_queues
    )
    inspect = commands.add_parser(
        "inspect", help="a queue: its limit, running runs and waiting line in order"
    )
    inspect.add_argument("name", metavar="NAME")
    inspect.set_defaults(handler=inspect_queue)
    for command, text, handler in (
        ("pause", "start nothing new from the queue", pause_queue),
        ("resume", "start the queue's waiting runs again", resume_queue),
        ("clear-concurrency-limit", "let any number of the queue's runs run at once", clear_limit),
        (
            "delete",
            "delete a queue no deployment uses and no unfinished run waits in",
            delete_queue,
        ),
    ):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("name", metavar="NAME")
        sub.set_defaults(handler=handler)
    limit = commands.add_parser(
        "set-concurrency-limit", help="let at most N of the queue's flow runs run at once"
    )
    limit.add_argument("name", metavar="NAME")
    limit.add_argument("limit", metavar="N")
    limit.set_defaults(handler=set_limit)


def _limit(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise CommandError(
            f"{flag}: the concurrency limit must be a whole number of 0 or more (0 holds every "
            f"run, like a pause); {text!r} is not."
        )
    return value


def _error(exc: Exception) -> CommandError:
    flag = _FLAGS.get(getattr(exc, "field", ""), "")
    return CommandError(f"{flag}: {exc}" if flag and flag != "NAME" else str(exc))


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _limit_text(queue) -> str:
    return "none" if queue.concurrency_limit is None else str(queue.concurrency_limit)


def _change(args: argparse.Namespace, action: str, **change) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.services import work_queues

    try:
        queue = work_queues.update_work_queue(args.name, **change)
    except (work_queues.WorkQueueError, ObjectNotFound) as exc:
        raise _error(exc) from None
    print(f"{action} work queue {safe(queue.name)!r} (limit {_limit_text(queue)}).")
    return 0


def create_queue(args: argparse.Namespace) -> int:
    limit = _limit(args.limit, "--limit")
    setup_django()
    from runs.services import work_queues

    try:
        queue = work_queues.create_work_queue(
            name=args.name,
            concurrency_limit=limit,
            description=args.description,
            paused=args.paused,
        )
    except work_queues.WorkQueueError as exc:
        raise _error(exc) from None
    paused = ", paused" if queue.paused else ""
    print(
        f"Created work queue {safe(queue.name)!r} (limit {_limit_text(queue)}{paused}); "
        f"serve it with `runs worker -Q {safe(queue.name)}`."
    )
    return 0


def list_queues(args: argparse.Namespace) -> int:
    setup_django()
    from runs.selectors.work_queues import work_queue_summaries

    print_table(
        ["NAME", "LIMIT", "RUNNING", "WAITING", "LATE", "LATER", "PAUSED", "DESCRIPTION"],
        [
            [
                s.queue.name,
                _limit_text(s.queue),
                s.running,
                s.waiting,
                s.late,
                s.scheduled_later,
                "yes" if s.queue.paused else "no",
                s.queue.description.splitlines()[0][:60] if s.queue.description else "",
            ]
            for s in work_queue_summaries()
        ],
    )
    return 0


def _run_rows(runs, *, places: bool, expected: bool) -> list[list[object]]:
    rows = []
    for index, run in enumerate(runs, start=1):
        deployment = run.deployment.name if run.deployment_id else ""
        when = run.expected_start_time if expected else (run.start_time or run.dispatched_at)
        row = [run.id, run.flow.name, run.name, deployment, run.state_name, _when(when)]
        rows.append([index, *row] if places else row)
    return rows


def inspect_queue(args: argparse.Namespace) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.selectors.work_queues import work_queue_detail

    try:
        detail = work_queue_detail(args.name)
    except ObjectNotFound as exc:
        raise CommandError(str(exc)) from None
    queue = detail.queue
    print(f"Work queue {safe(queue.name)}")
    if queue.description:
        print(f"Description {safe(queue.description)}")
    print(f"Limit      {_limit_text(queue)}")
    print(f"Paused     {'yes: it starts nothing new' if queue.paused else 'no'}")
    print(f"Running    {detail.running}")
    print(f"Waiting    {detail.waiting} due ({detail.late} late), {detail.scheduled_later} later")
    run_headers = ["ID", "FLOW", "NAME", "DEPLOYMENT", "STATE"]
    sections = (
        ("Running", detail.running_runs, False, False),
        ("Waiting, in order (the first starts next)", detail.waiting_runs, True, True),
        ("Scheduled later", detail.later_runs, False, True),
    )
    for title, runs, places, expected in sections:
        print()
        if not runs:
            print(f"{title}: none.")
            continue
        print(f"{title}:")
        when = "EXPECTED START" if expected else "SENT OR STARTED"
        headers = (["PLACE"] if places else []) + run_headers + [when]
        print_table(headers, _run_rows(runs, places=places, expected=expected))
    return 0


def pause_queue(args: argparse.Namespace) -> int:
    return _change(args, "Paused", paused=True)


def resume_queue(args: argparse.Namespace) -> int:
    return _change(args, "Resumed", paused=False)


def set_limit(args: argparse.Namespace) -> int:
    return _change(args, "Set the limit of", concurrency_limit=_limit(args.limit, "N"))


def clear_limit(args: argparse.Namespace) -> int:
    return _change(args, "Cleared the limit of", concurrency_limit=None)


def delete_queue(args: argparse.Namespace) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.services import work_queues

    try:
        work_queues.delete_work_queue(args.name)
    except (work_queues.WorkQueueError, ObjectNotFound) as exc:
        raise _error(exc) from None
    print(f"Deleted work queue {safe(args.name)!r}.")
    return 0
