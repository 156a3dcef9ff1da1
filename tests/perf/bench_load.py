"""Benchmark: the web server of `runs up` under many concurrent clients, on loopback only.

    python tests/perf/bench_load.py [--n 1000] [--seconds 30]

Starts the web server exactly as `runs up` does (gunicorn, its default processes and threads)
on a fresh RUNS_HOME and a free port of 127.0.0.1, then lets N clients each send requests one
after another for SECONDS: the sign-in page, and the flow-run list of the API with a token.
Prints requests per second, latency percentiles, how many requests failed or took longer than
the 30 s client timeout, and the server's memory (all its processes) before, at the end and a
while after. The load never leaves the machine and stops at the deadline.
Goal (issue 14): p95 under 2 s, or quick refusals, never a 30 s hang; memory back near its start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CLIENT_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB (Linux /proc)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _wait_until_up(url: str, deadline: float) -> None:
    import httpx

    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the web server did not answer at {url}")


async def _client(base: str, token: str, until: float, results: list) -> None:
    import httpx

    paths = ["/login/", "/api/flow-runs/"]
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT, headers=headers) as client:
        turn = 0
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                response = await client.get(paths[turn % 2])
                results.append((time.monotonic() - started, response.status_code))
            except httpx.TimeoutException:
                results.append((time.monotonic() - started, "timeout"))
            except httpx.HTTPError:
                results.append((time.monotonic() - started, "error"))
            turn += 1


async def _load(base: str, token: str, clients: int, seconds: float) -> list:
    results: list = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(_client(base, token, until, results) for _ in range(clients)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=None, help="30 for 1000+ clients")
    args = parser.parse_args()
    seconds = args.seconds or (30.0 if args.n >= 1000 else 5.0)

    home = tempfile.mkdtemp(prefix="runs-bench-load-")
    env = {**os.environ, "RUNS_HOME": home, "PYTHONPATH": str(ROOT)}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "RUNS_ALLOWED_HOSTS"):
        env.pop(name, None)
    run = dict(env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **run)
    make_user = (
        "from django.contrib.auth.models import User; User.objects.create_user('bench-load')"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", make_user], **run)
    token = subprocess.run(
        [sys.executable, "-m", "runs.cli", "token", "create", "bench-load"], **run
    ).stdout.split()[0]

    from runs.cli.up import web_server_command

    port = _free_port()
    options = argparse.Namespace(host="127.0.0.1", port=port, web_workers=2, threads=8)
    server = subprocess.Popen(
        web_server_command(options), env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/login/", time.monotonic() + 60)
        before = _rss_mb(server.pid)
        results = asyncio.run(_load(base, token, args.n, seconds))
        at_end = _rss_mb(server.pid)
        time.sleep(min(seconds, 10))
        after = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    latencies = sorted(latency for latency, _ in results)
    statuses: dict = {}
    for _, status in results:
        statuses[status] = statuses.get(status, 0) + 1

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    print(f"clients: {args.n} for {seconds:g} s on loopback; server: gunicorn 2 x 8 threads")
    print(f"requests: {len(results)} ({len(results) / seconds:.0f}/s); by status: {statuses}")
    print(
        f"latency: median {statistics.median(latencies) if latencies else 0:.3f} s, "
        f"p95 {percentile(0.95):.3f} s, p99 {percentile(0.99):.3f} s, max {percentile(1.0):.3f} s"
    )
    print(
        f"server memory: {before:.0f} MB before, {at_end:.0f} MB at the end, "
        f"{after:.0f} MB {min(seconds, 10):g} s later"
    )


if __name__ == "__main__":
    main()
