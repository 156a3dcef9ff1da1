"""Real ``runs worker`` processes for tests: same RUNS_HOME, database and broker as the session.

Use the ``runs_worker`` fixture (one worker for the test session) or :func:`start_worker` for a
test that kills its workers. Workers import test modules by name, so the repository root is put
on their PYTHONPATH.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """A ``runs worker`` subprocess in its own process group, with its output in a file."""

    def __init__(self, process: subprocess.Popen, log_path: Path, queue: str) -> None:
        self.process = process
        self.log_path = log_path
        #: Every queue it consumes ("celery,default": CeleryTaskRunner's and the default work
        #: queue's), and the first, where a test's CeleryTaskRunner sends.
        self.queues = queue.split(",")
        self.queue = self.queues[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"runs worker exited early:\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"runs worker not ready after {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """kill -9 the worker and its child processes at once, as a lost machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            # The main process alone: it stops its pool processes itself (warm shutdown); a
            # SIGTERM to the whole group leaves it waiting for children already gone.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            self.kill()  # whatever is left of the group


def start_worker(
    tmp_dir: Path,
    *,
    queue: str | None = None,
    concurrency: int = 2,
    env: dict[str, str] | None = None,
) -> WorkerProcess:
    """Start ``runs worker`` on ``queue`` (comma-separated queues; a new unique queue by
    default) and wait until ready."""
    queue = queue or f"q-{uuid.uuid4().hex[:8]}"
    log_path = tmp_dir / f"worker-{queue}-{uuid.uuid4().hex[:6]}.log"
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [child_env.get("PYTHONPATH")])]
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runs.cli",
                "worker",
                "--concurrency",
                str(concurrency),
                "--queues",
                queue,
                "--hostname",
                f"{queue.replace(',', '+')}-{uuid.uuid4().hex[:4]}@%h",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=str(REPO_ROOT),
            start_new_session=True,
        )
    worker = WorkerProcess(process, log_path, queue)
    try:
        worker.wait_ready()
    except BaseException:
        worker.stop()
        raise
    return worker


CALLER = """
import sys
from runs.bootstrap import ensure_ready
ensure_ready()
from tests.runs.celery_flows import sends_then_waits
try:
    sends_then_waits(sys.argv[1], sys.argv[2], int(sys.argv[3]))
except Exception as exc:
    print("FAILED:", type(exc).__name__, exc, flush=True)
    sys.exit(3)
"""


def start_caller(
    queue: str, marks: Path, count: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """A caller process running ``celery_flows.sends_then_waits``: it sends ``count`` runs to
    ``queue``, prints "sent", then waits on them; an exception is printed as "FAILED: ..." and
    exits 3. Its output is text on ``stdout``."""
    return subprocess.Popen(
        [sys.executable, "-c", CALLER, queue, str(marks), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        cwd=str(REPO_ROOT),
        text=True,
    )


@contextmanager
def workers_on_a_queue(
    folder: Path, prefix: str, count: int = 2, concurrency: int = 2
) -> Iterator[list[WorkerProcess]]:
    """``count`` ``runs worker`` processes on one new queue named after ``prefix``; stopped
    on leaving."""
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"
    workers = [start_worker(folder, queue=queue, concurrency=concurrency) for _ in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture(scope="session")
def runs_worker(tmp_path_factory) -> WorkerProcess:
    """One ``runs worker`` on the default queue for the whole test session."""
    worker = start_worker(tmp_path_factory.mktemp("workers"), queue="celery,default")
    yield worker
    worker.stop()
