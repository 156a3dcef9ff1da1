"""``runs worker``: a Celery worker for this project, with the project's settings."""

from __future__ import annotations

import argparse
import os

from runs.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="run a Celery worker that executes runs")
    parser.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=2,
        help="processes executing runs at once (default 2)",
    )
    parser.add_argument(
        "--queues",
        "-Q",
        default="celery,default",
        help="comma-separated queues to consume: work queues by name, and 'celery' for the "
        "task runs a CeleryTaskRunner sends (default: celery,default)",
    )
    parser.add_argument("--loglevel", "-l", default="INFO", help="log level (default INFO)")
    parser.add_argument("--hostname", "-n", default=None, help="worker name (default: Celery's)")
    parser.set_defaults(handler=run_worker)


def worker_argv(args: argparse.Namespace, broker_url: str) -> list[str]:
    """The arguments handed to Celery's worker."""
    if args.concurrency < 1:
        raise CommandError("--concurrency must be 1 or more.")
    queues = ",".join(q.strip() for q in args.queues.split(",") if q.strip())
    if not queues:
        raise CommandError("--queues must name at least one queue.")
    argv = [
        "worker",
        f"--loglevel={args.loglevel}",
        f"--concurrency={args.concurrency}",
        f"--queues={queues}",
        "--without-gossip",
        "--without-mingle",
    ]
    if broker_url.startswith("filesystem://"):
        argv.append("--without-heartbeat")
    if args.hostname:
        argv.append(f"--hostname={args.hostname}")
    return argv


def run_worker(args: argparse.Namespace) -> int:
    setup_django()
    from runs.owners import WORKER_QUEUES_ENV
    from runs.registry import RegistrationError, sync_registered_flows
    from runs_project.celery import app

    try:
        sync_registered_flows()
    except RegistrationError as exc:
        raise CommandError(str(exc)) from None
    argv = worker_argv(args, str(app.conf.broker_url))
    # Inherited by the pool processes: their leases say they are this worker's, on these queues.
    os.environ[WORKER_QUEUES_ENV] = next(a for a in argv if a.startswith("--queues=")).split("=")[1]
    app.worker_main(argv)
    return 0
