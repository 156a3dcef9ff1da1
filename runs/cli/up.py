"""``runs up``: migrate, then the web server, one worker and the scheduler together. Ctrl-C
stops them all."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

from runs.cli import CommandError, setup_django
from runs.cli.printing import safe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="run the dashboard, the API, a worker and the scheduler together"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    parser.add_argument(
        "--web-workers", type=int, default=2, help="web server processes (2)", metavar="N"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=32,
        metavar="N",
        help="threads per web server process, each taking a connection (32); of these, "
        "RUNS_WEB_MAX_IN_FLIGHT work on requests at once, the others wait briefly or answer 503",
    )
    parser.set_defaults(handler=up)


def _prepare() -> list[str]:
    """Migrate, register flows, make the admin account; lines to print."""
    setup_django()
    from runs.registry import RegistrationError, register_flow, sync_registered_flows

    lines = []
    try:
        flows = sync_registered_flows()
        try:
            flows.extend(register_flow(f"runs.demo_flows:{name}") for name in _demo_flow_names())
        except (RegistrationError, ImportError):
            pass
    except RegistrationError as exc:
        raise CommandError(str(exc)) from None
    names = ", ".join(sorted(f.name for f in flows)) or "none"
    lines.append(f"Registered flows: {safe(names)}")
    from runs.services.admin_account import ensure_admin_account, sign_in_message

    lines.append(sign_in_message(*ensure_admin_account()))
    return lines


def _demo_flow_names() -> list[str]:
    from runs import demo_flows
    from runs.flows import Flow

    return [name for name, value in vars(demo_flows).items() if isinstance(value, Flow)]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answered_hosts(bind: str) -> list[str] | None:
    """The host names the web server answers to when RUNS_ALLOWED_HOSTS is left at its default:
    localhost and the address it binds (this machine's names too, when it binds every
    address); None when the setting was given."""
    from runs import conf

    if conf.settings.source("RUNS_ALLOWED_HOSTS") != "default":
        return None
    hosts = list(conf.settings.RUNS_ALLOWED_HOSTS)
    extra = [bind.strip("[]")]
    if extra[0] in ("0.0.0.0", "::", ""):
        extra = [socket.gethostname(), socket.getfqdn()]
    for host in extra:
        host = f"[{host}]" if ":" in host else host
        if host and host not in hosts:
            hosts.append(host)
    return hosts


#: Connections one web server process holds open (kept-alive ones included); past this it
#: stops accepting and new ones wait in the listen backlog.
WEB_WORKER_CONNECTIONS = 1000
#: Connections the kernel queues for the web server before refusing more.
WEB_BACKLOG = 2048
#: Requests a web worker process serves before it is replaced by a fresh one.
WEB_MAX_REQUESTS = 5000
#: Seconds an idle kept-alive connection stays open.
WEB_KEEPALIVE_SECONDS = 5


def web_server_command(args: argparse.Namespace) -> list[str]:
    """gunicorn serving the project (static files through WhiteNoise): ``--web-workers``
    processes of ``--threads`` threads each.

    Every thread takes a connection at once; only RUNS_WEB_MAX_IN_FLIGHT of a process's
    requests run the views together (runs.admission), the others wait briefly and are answered
    503 with Retry-After, so an overloaded server refuses quickly instead of queueing
    connections for half a minute. A worker silent for 30 s is restarted.
    """
    host = f"[{args.host}]" if ":" in args.host else args.host
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "runs_project.wsgi:application",
        "--bind",
        f"{host}:{args.port}",
        "--workers",
        str(args.web_workers),
        "--threads",
        str(args.threads),
        "--worker-class",
        "runs.web_worker.ThreadWorker",  # gthread, noting when each request was queued
        "--worker-connections",
        str(WEB_WORKER_CONNECTIONS),
        "--backlog",
        str(WEB_BACKLOG),
        "--keep-alive",
        str(WEB_KEEPALIVE_SECONDS),
        # A worker process is replaced after this many requests (spread so they do not all
        # go at once): the memory and database connections a burst of load left behind are
        # given back instead of kept for good.
        "--max-requests",
        str(WEB_MAX_REQUESTS),
        "--max-requests-jitter",
        str(WEB_MAX_REQUESTS // 10),
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]


#: How often ``runs up`` looks for work queues created since it started (seconds).
NEW_QUEUE_LOOK_SECONDS = 5.0


def _queues_to_serve() -> list[str]:
    """``celery`` (task runs sent by a CeleryTaskRunner) and every work queue."""
    from runs.selectors.work_queues import work_queue_names

    try:
        return ["celery", *work_queue_names()]
    except Exception:  # the database is busy or away for a moment: look again later
        return ["celery", "default"]


def _start_worker(args: argparse.Namespace, queues: list[str], env: dict) -> subprocess.Popen:
    """A ``runs worker`` child serving ``queues``; ``runs up`` starts one more for the work
    queues created while it runs, so every queue has a worker."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runs.cli",
            "worker",
            "--concurrency",
            str(args.concurrency),
            "--queues",
            ",".join(queues),
            "--hostname",
            f"up-{'+'.join(queues)[:60]}@%h",
        ],
        env=env,
    )


def up(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise CommandError(f"--port must be between 1 and 65535; got {args.port}.")
    for option in ("web_workers", "threads", "concurrency"):
        if not 0 < getattr(args, option) <= 256:
            name = "--" + option.replace("_", "-")
            raise CommandError(f"{name} must be between 1 and 256; got {getattr(args, option)}.")
    for line in _prepare():
        print(line)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "runs_project.settings"),
    }
    hosts = answered_hosts(args.host)
    if hosts is not None:
        env["RUNS_ALLOWED_HOSTS"] = ",".join(hosts)
        print(
            f"The web server answers to {safe(', '.join(hosts))}; set RUNS_ALLOWED_HOSTS for "
            "other names.",
            flush=True,
        )
    web = subprocess.Popen(web_server_command(args), env=env)
    served = set(_queues_to_serve())
    worker = _start_worker(args, sorted(served), env)
    scheduler = subprocess.Popen([sys.executable, "-m", "runs.cli", "scheduler"], env=env)
    processes = [web, worker, scheduler]
    print(
        f"runs is up: dashboard http://{args.host}:{args.port}/  API "
        f"http://{args.host}:{args.port}/api/  (Ctrl-C stops them)",
        flush=True,
    )

    stopping = {"signal": False}

    def on_signal(signum, frame):
        stopping["signal"] = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        next_look = time.monotonic() + NEW_QUEUE_LOOK_SECONDS
        while not stopping["signal"]:
            if time.monotonic() >= next_look:
                next_look = time.monotonic() + NEW_QUEUE_LOOK_SECONDS
                new = sorted(set(_queues_to_serve()) - served)
                if new:
                    served.update(new)
                    processes.append(_start_worker(args, new, env))
                    print(f"Serving new work queue(s): {safe(', '.join(new))}", flush=True)
            for process in processes:
                if process.poll() is not None:
                    name = {web: "web server", scheduler: "scheduler"}.get(process, "worker")
                    print(
                        f"The {name} stopped (exit status {process.returncode}); stopping.",
                        file=sys.stderr,
                    )
                    _stop(processes)
                    return 1
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    _stop(processes)
    print("Stopped the web server and the worker.")
    return 0
