"""``runs flow-run ls`` and ``runs flow-run inspect ID``: the recorded runs as tables."""

from __future__ import annotations

import argparse

from runs.cli import CommandError, setup_django
from runs.cli.printing import print_table, safe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("flow-run", help="list and inspect flow runs")
    commands = parser.add_subparsers(dest="flow_run_command", metavar="COMMAND", required=True)
    ls = commands.add_parser("ls", help="list flow runs, newest first")
    ls.add_argument("--limit", type=int, default=20, help="how many to show (default 20)")
    ls.add_argument("--flow", help="only runs of this flow")
    ls.add_argument("--state", help="only runs in these state types, comma-separated")
    ls.add_argument(
        "--upcoming",
        action="store_true",
        help="list the runs scheduled for later too (deployments' schedules make them ahead)",
    )
    ls.set_defaults(handler=list_flow_runs)
    inspect = commands.add_parser("inspect", help="one flow run with its task runs")
    inspect.add_argument("id", help="flow run id (or a unique prefix of it)")
    inspect.set_defaults(handler=inspect_flow_run)


def _duration(run) -> str:
    duration = run.duration
    return f"{duration.total_seconds():.3f}s" if duration is not None else ""


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def list_flow_runs(args: argparse.Namespace) -> int:
    setup_django()
    if args.limit < 1:
        raise CommandError("--limit must be 1 or more.")
    from runs.selectors import FilterError
    from runs.selectors import runs as run_selectors

    try:
        runs = run_selectors.latest_flow_runs(
            flow=args.flow, state=args.state, limit=args.limit, upcoming=args.upcoming
        )
    except FilterError as exc:
        raise CommandError(f"--state: {exc.errors['state']}") from None
    upcoming = 0 if args.upcoming else run_selectors.upcoming_flow_run_count()
    if not runs:
        print("No flow runs yet. Run a flow (python my_flow.py) and they appear here.")
    else:
        print_table(
            ["ID", "FLOW", "NAME", "STATE", "STARTED", "DURATION"],
            [
                [r.id, r.flow.name, r.name, r.state_name, _when(r.start_time), _duration(r)]
                for r in runs
            ],
        )
    if upcoming:
        print(f"(and {upcoming} run(s) scheduled for later: --upcoming lists them too)")
    return 0


def inspect_flow_run(args: argparse.Namespace) -> int:
    setup_django()
    from runs.exceptions import ObjectNotFound
    from runs.selectors import runs as run_selectors

    try:
        run = run_selectors.find_flow_run(args.id)
    except ObjectNotFound as exc:
        raise CommandError(str(exc)) from None
    state = f"{run.state_name} ({run.state_type})"
    if run.state_message:
        state += f": {run.state_message}"
    print(f"Flow run   {safe(run.name)} ({run.id})")
    print(f"Flow       {safe(run.flow.name)}")
    print(f"State      {safe(state)}")
    print(f"Started    {_when(run.start_time)}")
    print(f"Duration   {_duration(run)}")
    print(f"Parameters {safe(run.parameters)}")
    if run.tags:
        print(f"Tags       {safe(', '.join(run.tags))}")
    task_runs = run_selectors.task_runs_of(run)
    print()
    if not task_runs:
        print("No task runs.")
        return 0
    print_table(
        ["TASK RUN", "STATE", "RUN COUNT", "STARTED", "DURATION", "MESSAGE"],
        [
            [
                t.name,
                t.state_name,
                t.run_count,
                _when(t.start_time),
                _duration(t),
                (t.state_message or "").splitlines()[0][:60] if t.state_message else "",
            ]
            for t in task_runs
        ],
    )
    return 0
