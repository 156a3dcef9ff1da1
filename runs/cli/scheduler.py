"""``runs scheduler``: make deployments' runs ahead, mark Late runs, send queued runs."""

from __future__ import annotations

import argparse
import logging
import sys

from runs.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scheduler",
        help="make deployments' scheduled runs ahead and start queued runs when there is room",
    )
    parser.add_argument(
        "--once", action="store_true", help="do one pass, print what it did, and exit"
    )
    parser.add_argument(
        "--catch-up",
        action="store_true",
        help="with --once: first deal with the times missed while no scheduler ran, by each "
        "deployment's catchup (the loop always does this on its first pass)",
    )
    parser.add_argument(
        "--loop-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between passes (default: RUNS_SCHEDULER_LOOP_SECONDS, 5)",
    )
    parser.set_defaults(handler=run_scheduler)


def run_scheduler(args: argparse.Namespace) -> int:
    if args.loop_seconds is not None and not args.loop_seconds > 0:
        raise CommandError(f"--loop-seconds must be above 0; got {args.loop_seconds}.")
    if args.catch_up and not args.once:
        raise CommandError("--catch-up goes with --once (the loop catches up on its first pass).")
    setup_django()
    from runs.scheduler import run_forever, run_pass

    if args.once:
        result = run_pass(first=args.catch_up)
        print(f"Scheduler pass: {result.summary()}.")
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )
    print("Scheduler started; Ctrl-C stops it.", flush=True)
    run_forever(loop_seconds=args.loop_seconds)
    print("Scheduler stopped.", flush=True)
    return 0
