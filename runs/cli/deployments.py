"""``runs deployment create|ls|inspect|pause|resume|run|delete``: named flows with default
parameters, a work queue and schedules."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from typing import Any

from runs.cli import CommandError, setup_django
from runs.cli.printing import print_table, safe

#: The flag or argument each field of the services is given by.
_FLAGS = {
    "flow": "MODULE:FLOW",
    "name": "--name",
    "parameters": "--param",
    "work_queue": "--queue",
    "tags": "--tag",
    "description": "--description",
    "catchup": "--catchup",
    "scheduled_time": "--start-in",
    "cron": "--cron",
    "interval": "--interval",
    "rrule": "--rrule",
    "timezone": "--timezone",
    "anchor": "--anchor",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deployment", help="deployments: named flows with parameters, a queue and schedules"
    )
    commands = parser.add_subparsers(dest="deployment_command", metavar="COMMAND", required=True)
    _create_parser(commands)
    commands.add_parser(
        "ls", help="every deployment with its schedules, next and last run"
    ).set_defaults(handler=list_deployments)
    inspect = commands.add_parser("inspect", help="a deployment: schedules, next runs, last runs")
    _which(inspect)
    inspect.set_defaults(handler=inspect_deployment)
    for command, text, handler in (
        (
            "pause",
            "stop its schedules making runs (and delete those not started)",
            pause_deployment,
        ),
        ("resume", "let its schedules make runs again", resume_deployment),
        (
            "delete",
            "delete it with its schedules and the runs they made that have not started",
            delete_deployment,
        ),
    ):
        sub = commands.add_parser(command, help=text)
        _which(sub)
        sub.set_defaults(handler=handler)
    run = commands.add_parser("run", help="start a run of the deployment now (or later)")
    _which(run)
    _param_flag(run)
    run.add_argument("--start-in", metavar="SECONDS", help="start it this many seconds from now")
    run.set_defaults(handler=run_deployment)


def _create_parser(commands: argparse._SubParsersAction) -> None:
    create = commands.add_parser("create", help="register MODULE:FLOW and make a deployment of it")
    create.add_argument("entrypoint", metavar="MODULE:FLOW")
    create.add_argument("--name", required=True, help="the deployment's name")
    create.add_argument(
        "--cron",
        action="append",
        default=[],
        metavar="EXPR",
        help="a cron schedule, e.g. '0 9 * * 1-5' (repeatable)",
    )
    create.add_argument(
        "--interval",
        action="append",
        default=[],
        metavar="SECONDS",
        help="an interval schedule: seconds, or 1h30m, PT1H, 01:30:00 (repeatable)",
    )
    create.add_argument(
        "--rrule",
        action="append",
        default=[],
        metavar="TEXT",
        help="an RRule schedule, e.g. 'FREQ=DAILY;BYHOUR=9' (repeatable)",
    )
    create.add_argument(
        "--timezone",
        default="UTC",
        metavar="TZ",
        help="the IANA time zone the schedules' times are read in (default UTC)",
    )
    create.add_argument(
        "--anchor", metavar="ISO", help="an interval's first time, e.g. 2026-01-01T09:00:00"
    )
    _param_flag(create)
    create.add_argument(
        "--queue", default="default", help="the work queue its runs wait in (default: default)"
    )
    create.add_argument(
        "--tag",
        action="append",
        default=[],
        dest="tags",
        metavar="T",
        help="a tag of its runs (repeatable)",
    )
    create.add_argument("--description", default="", help="what the deployment is for")
    create.add_argument(
        "--catchup",
        default="once",
        metavar="once|all|skip",
        help="what to run for times missed while no scheduler ran (default once)",
    )
    create.add_argument(
        "--paused", action="store_true", help="make it paused: its schedules make no runs"
    )
    create.set_defaults(handler=create_deployment)


def _which(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("deployment", metavar="ID|FLOW/NAME")


def _param_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        dest="params",
        metavar="KEY=VALUE",
        help='a parameter; VALUE is read as JSON (3, true, [1, 2], "text") or else as text '
        "(repeatable)",
    )


def parse_params(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` flags as parameters: each VALUE read as JSON when it is JSON, else as text."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--param: write KEY=VALUE, e.g. --param count=3; {item!r} is not.")
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text
    return params


def _error(exc: Exception) -> CommandError:
    """A service's error as one line that starts with the flag at fault."""
    field = getattr(exc, "field", "") or ""
    flag = _FLAGS.get(field.rpartition(".")[2], "")
    return CommandError(f"{flag}: {exc}" if flag else str(exc))


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _schedules(args: argparse.Namespace):
    from runs.services.deployments import ScheduleInput

    given = [("cron", v) for v in args.cron]
    given += [("interval", v) for v in args.interval]
    given += [("rrule", v) for v in args.rrule]
    if args.anchor and not args.interval and not args.rrule:
        raise CommandError("--anchor: an anchor is the first time of an --interval or --rrule.")
    return [
        ScheduleInput(kind=kind, value=value, timezone=args.timezone, anchor=args.anchor)
        for kind, value in given
    ]


def create_deployment(args: argparse.Namespace) -> int:
    params = parse_params(args.params)
    setup_django()
    from runs.registry import RegistrationError, register_flow
    from runs.services import deployments

    try:
        flow = register_flow(args.entrypoint)
    except RegistrationError as exc:
        raise CommandError(f"MODULE:FLOW: {exc}") from None
    try:
        deployment = deployments.create_deployment(
            flow_name=flow.name,
            name=args.name,
            parameters=params,
            work_queue=args.queue,
            tags=args.tags,
            description=args.description,
            schedules=_schedules(args),
            paused=args.paused,
            catchup=args.catchup,
        )
    except deployments.DeploymentError as exc:
        raise _error(exc) from None
    count = deployment.schedules.count()
    schedules = f"{count} schedule{'s' if count != 1 else ''}" if count else "no schedule"
    print(
        f"Created deployment {safe(deployment.full_name)!r} (id {deployment.id}, queue "
        f"{safe(deployment.work_queue.name)!r}, {schedules}"
        f"{', paused' if deployment.paused else ''})."
    )
    if count and not deployment.paused:
        print("`runs up` or `runs scheduler` makes its runs ahead of time.")
    else:
        print(f"Start a run with `runs deployment run {safe(deployment.full_name)}`.")
    return 0


def _last(run) -> str:
    return f"{run.state_name} {_when(run.start_time or run.end_time)}".strip() if run else ""


def list_deployments(args: argparse.Namespace) -> int:
    setup_django()
    from runs.selectors.deployments import deployment_summaries, describe_schedule

    summaries = deployment_summaries()
    if not summaries:
        print("No deployments yet. Make one with `runs deployment create MODULE:FLOW --name N`.")
        return 0
    print_table(
        ["ID", "DEPLOYMENT", "QUEUE", "SCHEDULES", "NEXT RUN", "LAST RUN", "PAUSED"],
        [
            [
                s.deployment.id,
                s.deployment.full_name,
                s.deployment.work_queue.name,
                "; ".join(describe_schedule(x) for x in s.schedules) or "none",
                _when(s.next_runs[0].expected_start_time) if s.next_runs else "",
                _last(s.last_run),
                "yes" if s.deployment.paused else "no",
            ]
            for s in summaries
        ],
    )
    return 0


def inspect_deployment(args: argparse.Namespace) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.selectors.deployments import deployment_detail, describe_schedule

    try:
        detail = deployment_detail(args.deployment)
    except ObjectNotFound as exc:
        raise CommandError(str(exc)) from None
    d = detail.deployment
    print(f"Deployment  {safe(d.full_name)} (id {d.id})")
    if d.description:
        print(f"Description {safe(d.description)}")
    print(f"Queue       {safe(d.work_queue.name)}")
    print(f"Parameters  {safe(json.dumps(d.parameters))}")
    if d.tags:
        print(f"Tags        {safe(', '.join(d.tags))}")
    print(f"Catch-up    {d.catchup}")
    print(f"Paused      {'yes: its schedules make no runs' if d.paused else 'no'}")
    print()
    if detail.schedules:
        print_table(
            ["SCHEDULE ID", "SCHEDULE", "ACTIVE"],
            [[s.id, describe_schedule(s), "yes" if s.active else "no"] for s in detail.schedules],
        )
    else:
        print("Schedules: none; start runs with `runs deployment run`.")
    for title, runs, expected in (
        ("Next runs", detail.upcoming, True),
        ("Last runs", detail.recent, False),
    ):
        print()
        if not runs:
            print(f"{title}: none.")
            continue
        print(f"{title}:")
        print_table(
            ["ID", "NAME", "STATE", "EXPECTED START" if expected else "STARTED"],
            [
                [
                    r.id,
                    r.name,
                    r.state_name,
                    _when(r.expected_start_time if expected else r.start_time),
                ]
                for r in runs
            ],
        )
    return 0


def _change(args: argparse.Namespace, action: str, verb: str) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.services import deployments

    try:
        deployment = deployments.get_deployment(args.deployment)
        getattr(deployments, action)(deployment.id)
    except (deployments.DeploymentError, ObjectNotFound) as exc:
        raise _error(exc) from None
    print(f"{verb} deployment {safe(deployment.full_name)!r}.")
    return 0


def pause_deployment(args: argparse.Namespace) -> int:
    return _change(args, "pause_deployment", "Paused")


def resume_deployment(args: argparse.Namespace) -> int:
    return _change(args, "resume_deployment", "Resumed")


def delete_deployment(args: argparse.Namespace) -> int:
    return _change(args, "delete_deployment", "Deleted")


def _start_time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or seconds > 366 * 86400:
        raise CommandError(
            f"--start-in: give seconds from now, 0 to a year (31622400); {text!r} is not."
        )
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def run_deployment(args: argparse.Namespace) -> int:
    params = parse_params(args.params)
    scheduled_time = _start_time(args.start_in)
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.services import deployments

    try:
        run = deployments.run_deployment(
            args.deployment, parameters=params, scheduled_time=scheduled_time
        )
    except (deployments.DeploymentError, ObjectNotFound) as exc:
        raise _error(exc) from None
    queue = run.work_queue.name if run.work_queue_id else "default"
    print(
        f"Created flow run {safe(run.name)!r} ({run.id}) of {safe(run.flow.name)!r} in work "
        f"queue {safe(queue)!r}, to start at {_when(run.expected_start_time)} UTC."
    )
    return 0
