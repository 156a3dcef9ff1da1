"""runs installed into a team's own Django site, from its wheel, in a fresh virtual environment.

The site is tests/example_host/ (package ``project``, app ``shop``), copied to a temporary
folder; a new venv outside the checkout gets runs' wheel (built here once per session) and
PyPI's ``limits``; everything below runs with that venv's Python and the site's own settings:
``manage.py migrate``, a flow run from a view (Django's test client), runs' pages under
``/runs/``, ``manage.py runs flow-run ls``, and a Django task run by ``manage.py runs worker``.

The site uses SQLite, or a PostgreSQL database of its own when the session runs on PostgreSQL
(DATABASE_URL), and a Redis database of this test's own as its Celery broker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
EXAMPLE = CHECKOUT / "tests" / "example_host"
#: The site's Celery broker: a Redis database of this test's own, emptied before use.
BROKER_URL = "redis://127.0.0.1:6379/12"
#: The line the scripts below print their JSON on, for the test to read.
MARK = "EXAMPLE-RESULT "


# ---- the environment: a venv with runs' wheel, and the example site ---------------------------
def site_env(**overrides: str) -> dict[str, str]:
    """This process's environment without runs', Django's and Celery's settings (the site's own
    decide), with the site's database and broker."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNS_", "DJANGO_", "DATABASE_URL", "CELERY_", "PYTHONPATH"))
    }
    env["SHOP_BROKER_URL"] = BROKER_URL
    if _SITE_DATABASE:
        env["DATABASE_URL"] = _SITE_DATABASE[0]
    env.update(overrides)
    return env


#: (URL, admin URL, name) of the site's PostgreSQL database, when the session has one.
_SITE_DATABASE: list[str] = []


def run(args: list, *, cwd: Path, timeout: float = 300, env: dict | None = None):
    """Runs ``args``; fails the test with its output when it fails."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env or site_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def build_wheel(out: Path) -> Path:
    """runs' wheel, built from the checkout into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        import build  # noqa: F401

        command = [sys.executable, "-m", "build", "--wheel", "--outdir", out, CHECKOUT]
    except ImportError:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, CHECKOUT]
    run(command, cwd=out)
    (wheel,) = out.glob("runs-*.whl")
    return wheel


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    """The Python of a new venv outside the checkout, with runs' wheel and PyPI's ``limits``."""
    root = tmp_path_factory.mktemp("example-venv")
    run([sys.executable, "-m", "venv", root / "venv"], cwd=root)
    python = root / "venv" / "bin" / "python"
    wheel = build_wheel(root / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("runs/templates/") for n in names), "the wheel has no templates"
    run([python, "-m", "pip", "install", "-q", wheel, "limits"], cwd=root)
    return python


@pytest.fixture(scope="module")
def site_database():
    """A PostgreSQL database of the site's own when the session runs on PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield None
        return
    import psycopg

    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
    name = f"example_host_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    _SITE_DATABASE[:] = [url.rsplit("/", 1)[0] + "/" + name]
    yield name
    _SITE_DATABASE.clear()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def site(tmp_path_factory, venv, site_database) -> Path:
    """A copy of the example site, migrated, with a superuser ``admin``."""
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    root = tmp_path_factory.mktemp("example-site") / "shop-site"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    manage(venv, root, "migrate", "-v", "0")
    manage(
        venv,
        root,
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
    )
    return root


def manage(python: Path, site: Path, *args: str, timeout: float = 120, **env: str):
    """``python manage.py ARGS`` in the site with the venv's Python; fails the test on error."""
    return run([python, "manage.py", *args], cwd=site, timeout=timeout, env=site_env(**env))


def shell(python: Path, site: Path, code: str, timeout: float = 120) -> dict:
    """Runs ``code`` with ``manage.py shell -c``; returns the JSON it printed after MARK."""
    result = manage(python, site, "shell", "-c", textwrap.dedent(code), timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARK)]
    assert lines, f"no result printed:\n{result.stdout}\n{result.stderr}"
    return json.loads(lines[-1][len(MARK) :])


# ---- the site, runs and PyPI's limits side by side ------------------------------------------------
def test_the_site_is_its_own_project_beside_runs_and_pypis_limits(venv, site):
    found = shell(
        venv,
        site,
        f"""
        import json, project, runs, limits, runs_limits
        from django.conf import settings
        print({MARK!r} + json.dumps({{
            "project": project.__file__, "runs": runs.__file__,
            "limits": limits.__file__, "runs_limits": runs_limits.__file__,
            "rate_limit": hasattr(limits, "RateLimitItemPerMinute"),
            "settings": settings.SETTINGS_MODULE,
        }}))
        """,
    )
    assert Path(found["project"]).parent == site / "project"
    assert found["settings"] == "project.settings"
    venv_packages = venv.parent.parent / "lib"
    for name in ("runs", "limits", "runs_limits"):
        assert Path(found[name]).is_relative_to(venv_packages), found  # from the venv
    assert found["rate_limit"], "`import limits` is not PyPI's rate-limiting package"
    assert Path(found["runs_limits"]).parent != Path(found["limits"]).parent


# ---- a flow run from the site's view ------------------------------------------------------------
@pytest.fixture(scope="module")
def placed(venv, site) -> dict:
    """An order placed through the site's view (the flow runs in the request), then runs'
    flow-run list page, read anonymously and by a signed-in user."""
    customer = f"ada-{uuid.uuid4().hex[:6]}"
    return shell(
        venv,
        site,
        f"""
        import json
        from django.contrib.auth import get_user_model
        from django.test import Client

        client = Client()
        placed = client.post(
            "/orders/", {{"customer": {customer!r}, "items": ["apple", "bread", "apple"]}},
            content_type="application/json",
        )
        anonymous = client.get("/runs/flow-runs/")
        client.force_login(get_user_model().objects.get(username="admin"))
        page = client.get("/runs/flow-runs/")
        print({MARK!r} + json.dumps({{
            "customer": {customer!r},
            "status": placed.status_code, "order": placed.json(),
            "anonymous": [anonymous.status_code, anonymous.get("Location", "")],
            "page_status": page.status_code, "page": page.content.decode(),
            "home": client.get("/").content.decode(),
        }}))
        """,
    )


def test_a_view_runs_the_flow_that_writes_the_sites_model(placed):
    assert placed["status"] == 201, placed
    assert placed["order"]["items"] == ["apple", "bread", "apple"]
    assert placed["order"]["total"] == "3.20"
    assert placed["home"] == "The shop: 1 orders."


def test_runs_pages_live_under_the_sites_prefix(placed):
    status, location = placed["anonymous"]
    assert status == 302 and location == "/admin/login/?next=/runs/flow-runs/"
    assert placed["page_status"] == 200
    page = placed["page"]
    assert "place-order" in page
    assert re.search(r'href="/runs/flow-runs/[0-9a-f-]{36}/"', page), "no link to the run"
    paths = re.findall(r'(?:href|src|action|hx-get|hx-post)="(/[^"]*)"', page)
    assert paths
    outside = [p for p in paths if not p.startswith(("/runs/", "/static/"))]
    assert not outside, f"links outside /runs/: {outside}"


def test_manage_py_runs_lists_the_flow_run_completed(venv, site, placed):
    listed = manage(venv, site, "runs", "flow-run", "ls", "--flow", "place-order")
    rows = [line for line in listed.stdout.splitlines() if "place-order" in line]
    assert len(rows) == 1, listed.stdout
    assert " Completed " in rows[0], listed.stdout


# ---- a Django task on a runs worker -------------------------------------------------------------
def start_worker(python: Path, site: Path, log: Path, **env: str) -> subprocess.Popen:
    """``manage.py runs worker`` in its own process group; returns once it is ready."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [python, "manage.py", "runs", "worker", "--concurrency", "1"],
            cwd=site,
            env=site_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(process)
            raise AssertionError(f"runs worker did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    """SIGTERM to the worker's process group (SIGKILL after 20 s)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


#: How the scripts below enqueue ``mark_paid`` for order ``{order}``: the site's view, or
#: ``enqueue`` inside a transaction that commits half a second later.
THROUGH_THE_VIEW = 'task_id = Client().post("/orders/{order}/pay/").json()["task_result"]'
IN_A_TRANSACTION = (
    "with transaction.atomic():\n    task_id = mark_paid.enqueue({order}).id\n    time.sleep(0.5)"
)


def pay_on_a_worker(
    python: Path,
    site: Path,
    order: int,
    log: Path,
    enqueue: str = THROUGH_THE_VIEW,
    wait: float = 60,
    **env: str,
) -> dict:
    """With a worker running, enqueues ``mark_paid`` for ``order``; returns the task's result
    once finished (or after ``wait`` seconds) and whether the order is paid."""
    worker = start_worker(python, site, log, **env)
    try:
        code = (
            textwrap.dedent(
                """
            import json, time
            from django.db import transaction
            from django.test import Client
            from shop.models import Order
            from shop.tasks import mark_paid

            """
            )
            + enqueue.format(order=order)
            + textwrap.dedent(
                f"""
            result = mark_paid.get_result(task_id)
            deadline = time.monotonic() + {wait}
            while not result.is_finished and time.monotonic() < deadline:
                time.sleep(0.1)
                result.refresh()
            print({MARK!r} + json.dumps({{
                "status": result.status.name,
                "value": result.return_value if result.status.name == "SUCCESSFUL" else None,
                "paid": Order.objects.get(pk={order}).paid,
            }}))
            """
            )
        )
        result = manage(python, site, "shell", "-c", code, timeout=wait + 20, **env)
    finally:
        stop_worker(worker)
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARK)]
    assert lines, f"{result.stdout}\n{result.stderr}\n{log.read_text(errors='replace')}"
    return json.loads(lines[-1][len(MARK) :])


def test_a_django_task_completes_on_a_runs_worker(venv, site, placed, tmp_path):
    order = placed["order"]["order"]
    paid = pay_on_a_worker(venv, site, order, tmp_path / "worker.log")
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert paid["status"] == "SUCCESSFUL", f"{paid}\n{log[-3000:]}"
    assert paid["value"] == placed["customer"]
    assert paid["paid"] is True
    assert "Traceback" not in log, log
    listed = manage(
        venv, site, "runs", "flow-run", "ls", "--flow", "django-task:shop.tasks.mark_paid"
    )
    assert " Completed " in listed.stdout, listed.stdout


def test_a_task_enqueued_inside_a_transaction_runs_after_the_commit(venv, site, placed, tmp_path):
    order = placed["order"]["order"]
    paid = pay_on_a_worker(venv, site, order, tmp_path / "worker.log", IN_A_TRANSACTION, wait=5)
    assert paid["status"] == "SUCCESSFUL", paid


def test_without_a_broker_of_its_own_the_site_uses_runs_broker(venv, site, placed, tmp_path):
    order = placed["order"]["order"]
    paid = pay_on_a_worker(venv, site, order, tmp_path / "worker.log", SHOP_BROKER_URL="")
    assert paid["status"] == "SUCCESSFUL", paid
