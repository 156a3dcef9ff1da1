"""Benchmark: the web server of `runs up` under many concurrent clients, on loopback only.

    python tests/perf/bench_load.py [--n 1000] [--seconds 30] [--settle 60]

Starts the web server exactly as `runs up` does (gunicorn, its default processes and threads)
on a fresh RUNS_HOME and a free port of 127.0.0.1, runs a few demo flows so the pages have
something to show, signs in once through the sign-in form, then lets N clients each send
requests one after another on a kept-alive connection for SECONDS: the overview, the flow-run
and task-run lists (signed in) and the flow-run list of the API (with a token). A client
answered 503 waits the Retry-After it was given, as a browser's refresh or a polite script
would (``--ignore-retry-after``: it asks again at once). Prints requests per second, latency
percentiles of the successful answers (all, and per page), the 503s and their latency, other
errors, requests that took longer than the 30 s client timeout, and the server's memory, open
sockets and open database files (all its processes, from /proc) before, at the end and SETTLE
seconds later. The load never leaves the machine and stops at the deadline.

The clients speak HTTP/1.1 with h11 over asyncio streams: cheap enough that the load generator,
on the same cores as the server, measures the server rather than itself.
Goal (issue 14): p95 under 2 s for the overview and lists, or quick 503s, never a 30 s hang
(0 timeouts); memory and open connections back near their start a minute later.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CLIENT_TIMEOUT = 30.0
USER, PASSWORD = "bench-load", "bench-load-password-1"
SEED_FLOW_RUNS = 20
#: Pages a client asks for in turn: (path, signed in with the session, else the API token).
PAGES = [("/", True), ("/flow-runs/", True), ("/task-runs/", True), ("/api/flow-runs/", False)]
GOAL_P95_SECONDS = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        one = todo.pop()
        found.append(one)
        for task in Path(f"/proc/{one}/task").glob("*"):
            try:
                todo += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def server_usage(pid: int) -> dict:
    """Resident memory (MB), open sockets and open database files of the server's processes."""
    rss_kb, sockets, databases = 0, set(), 0
    for one in _process_tree(pid):
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
            for fd in Path(f"/proc/{one}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:"):
                    sockets.add(target)  # the listening socket is shared: count it once
                elif target.endswith("runs.sqlite3"):
                    databases += 1
        except OSError:
            pass
    return {"memory": rss_kb / 1024, "sockets": len(sockets), "databases": databases}


def _wait_until_up(url: str, deadline: float) -> None:
    import httpx

    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the web server did not answer at {url}")


def _sign_in(base: str) -> str:
    """The session cookie of USER, signed in through the sign-in form."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not token:
            raise SystemExit("the sign-in page has no CSRF token field")
        answer = client.post(
            "/login/",
            data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": base + "/login/"},
        )
        session = client.cookies.get("sessionid")
        if answer.status_code != 302 or not session:
            raise SystemExit(f"signing in failed ({answer.status_code}): {answer.text[:300]}")
        return session


class _Connection:
    """One kept-alive HTTP/1.1 connection, opened again when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = self.h11 = None

    async def get(self, path: str, headers: list[tuple[str, str]]) -> tuple[int, float]:
        """(status, Retry-After seconds or 0) of GET ``path``; the body is read and dropped."""
        import h11

        if self.h11 is None or self.h11.our_state is not h11.IDLE:
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.h11 = h11.Connection(our_role=h11.CLIENT)
        request = h11.Request(method="GET", target=path, headers=[("Host", self.host), *headers])
        self.writer.write(self.h11.send(request) + self.h11.send(h11.EndOfMessage()))
        status, retry_after = 0, 0.0
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(65536)
                self.h11.receive_data(data)
                if not data and self.h11.their_state is not h11.DONE:
                    raise ConnectionError("the server closed the connection mid-answer")
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                for name, value in event.headers:
                    if name == b"retry-after":
                        retry_after = float(value)
            elif isinstance(event, h11.EndOfMessage):
                break
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
        return status, retry_after

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = self.h11 = None


async def _client(
    port: int, headers: dict, until: float, results: list, ignore_retry_after: bool
) -> None:
    connection = _Connection("127.0.0.1", port)
    turn = random.randrange(len(PAGES))
    while time.monotonic() < until:
        path, signed_in = PAGES[turn % len(PAGES)]
        turn += 1
        started = time.monotonic()
        wait = 0.0
        try:
            status, wait = await asyncio.wait_for(
                connection.get(path, headers[signed_in]), CLIENT_TIMEOUT
            )
            outcome = status
        except TimeoutError:
            outcome = "timeout"
            await connection.close()
        except (OSError, ConnectionError, Exception) as exc:  # noqa: BLE001  (any failure counts)
            outcome = f"error: {type(exc).__name__}"
            await connection.close()
        results.append((path, outcome, time.monotonic() - started))
        if outcome == 503 and not ignore_retry_after:
            await asyncio.sleep(max(0.0, min(wait, until - time.monotonic())))
    await connection.close()


async def _lag(until: float, lags: list) -> None:
    """How late the load generator's own event loop wakes up (its share of the latencies)."""
    while time.monotonic() < until:
        started = time.monotonic()
        await asyncio.sleep(0.1)
        lags.append(time.monotonic() - started - 0.1)


async def _load(port: int, headers: dict, clients: int, seconds: float, ignore: bool) -> tuple:
    results: list = []
    lags: list = []
    until = time.monotonic() + seconds
    await asyncio.gather(
        _lag(until, lags),
        *(_client(port, headers, until, results, ignore) for _ in range(clients)),
    )
    return results, lags


def _percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else 0.0


def _spread(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "none"
    return (
        f"p50 {_percentile(values, 0.5):.3f} s, p95 {_percentile(values, 0.95):.3f} s, "
        f"p99 {_percentile(values, 0.99):.3f} s, max {values[-1]:.3f} s"
    )


def _prepare(env: dict) -> str:
    """Migrate, make USER (a superuser), run demo flows; USER's API token."""
    run = dict(env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **run)
    make_user = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_superuser({USER!r}, password={PASSWORD!r})"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", make_user], **run)
    seed = (
        "from runs.demo_flows import demo_map\n"
        f"for _ in range({SEED_FLOW_RUNS}): demo_map(count=5)\n"
    )
    subprocess.run([sys.executable, "-c", seed], **run)
    created = subprocess.run([sys.executable, "-m", "runs.cli", "token", "create", USER], **run)
    return created.stdout.split()[0]


def _usage_line(label: str, usage: dict) -> str:
    return (
        f"{label}: memory {usage['memory']:.0f} MB, {usage['sockets']} sockets, "
        f"{usage['databases']} database files open"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=None, help="30 for 1000+ clients, else 5")
    parser.add_argument(
        "--settle", type=float, default=None, help="seconds to wait after the load (60 for 1000+)"
    )
    parser.add_argument("--web-workers", type=int, default=None, help="runs up's default")
    parser.add_argument("--threads", type=int, default=None, help="runs up's default")
    parser.add_argument(
        "--ignore-retry-after", action="store_true", help="clients answered 503 ask again at once"
    )
    args = parser.parse_args()
    seconds = args.seconds or (30.0 if args.n >= 1000 else 5.0)
    settle = args.settle if args.settle is not None else (60.0 if args.n >= 1000 else 5.0)

    home = tempfile.mkdtemp(prefix="runs-bench-load-")
    env = {**os.environ, "RUNS_HOME": home, "PYTHONPATH": str(ROOT)}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "RUNS_ALLOWED_HOSTS", "RUNS_API_URL"):
        env.pop(name, None)
    token = _prepare(env)

    from runs.cli import build_parser
    from runs.cli.up import web_server_command

    port = _free_port()
    options = build_parser().parse_args(["up", "--port", str(port)])
    options.web_workers = args.web_workers or options.web_workers
    options.threads = args.threads or options.threads
    server = subprocess.Popen(
        web_server_command(options), env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/login/", time.monotonic() + 60)
        session = _sign_in(base)
        headers = {
            True: [("Cookie", f"sessionid={session}")],
            False: [("Authorization", f"Token {token}")],
        }
        before = server_usage(server.pid)
        results, lags = asyncio.run(_load(port, headers, args.n, seconds, args.ignore_retry_after))
        at_end = server_usage(server.pid)
        time.sleep(settle)
        after = server_usage(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    ok = [r for r in results if isinstance(r[1], int) and r[1] < 400]
    busy = [r for r in results if r[1] == 503]
    timeouts = [r for r in results if r[1] == "timeout"]
    others: dict = {}
    for _, outcome, _ in results:
        if outcome not in (503, "timeout") and not (isinstance(outcome, int) and outcome < 400):
            others[outcome] = others.get(outcome, 0) + 1
    p95 = _percentile(sorted(r[2] for r in ok), 0.95)

    print(
        f"clients: {args.n} for {seconds:g} s on loopback ({os.cpu_count()} cores, load generator "
        f"included); server: gunicorn {options.web_workers} x {options.threads} threads"
        + ("; clients ignore Retry-After" if args.ignore_retry_after else "")
    )
    print(
        f"requests: {len(results)} ({len(results) / seconds:.0f}/s), answered: {len(ok)} "
        f"({len(ok) / seconds:.0f}/s), 503: {len(busy)}, timeouts: {len(timeouts)}, "
        f"other errors: {others or 0}"
    )
    print(f"answered: {_spread([r[2] for r in ok])}")
    for path, _ in PAGES:
        print(f"  {path:<16} {_spread([r[2] for r in ok if r[0] == path])}")
    print(f"503 (busy): {_spread([r[2] for r in busy])}")
    print(f"load generator's own lag (included above): {_spread(lags)}")
    print(_usage_line("server before", before))
    print(_usage_line("server at the end", at_end))
    print(_usage_line(f"server {settle:g} s later", after))
    met = not timeouts and not others and p95 < GOAL_P95_SECONDS
    print(
        f"goal (p95 of answers under {GOAL_P95_SECONDS:g} s, 0 timeouts, no other errors): "
        + ("met" if met else "NOT met")
    )


if __name__ == "__main__":
    main()
