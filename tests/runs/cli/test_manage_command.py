"""``python manage.py runs ...`` in a host project: runs' CLI with the host's settings.

The host is a tiny Django site written into a temporary folder (its package is ``hostsite``),
with runs' apps in INSTALLED_APPS, runs' URLs under ``runs/`` and a ``RUNS`` dict.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[3]

SETTINGS = """
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
SECRET_KEY = "host-secret-key-" + "x" * 40
DEBUG = True
ALLOWED_HOSTS = ["testserver", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "runs",
    "runs_limits",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hostsite.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE / "host.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
RUNS = {"HOME": str(BASE / "runs-home"), "TASK_DEFAULT_RETRIES": 2}
"""

URLS = """
from django.urls import include, path

urlpatterns = [path("runs/", include("runs.urls"))]
"""

MANAGE = """
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


def write_host_project(root: Path, extra_settings: str = "") -> Path:
    """A host Django project in ``root`` (package ``hostsite``); returns ``root``."""
    package = root / "hostsite"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS + textwrap.dedent(extra_settings))
    (package / "urls.py").write_text(URLS)
    (root / "manage.py").write_text(MANAGE)
    return root


def host_env() -> dict[str, str]:
    """The environment without runs' own settings: the host's settings decide."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNS_", "DJANGO_", "DATABASE_URL", "CELERY_"))
    }
    env["PYTHONPATH"] = str(CHECKOUT)
    return env


def manage(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=host_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Path:
    return write_host_project(tmp_path_factory.mktemp("host"))


def test_runs_never_migrates_a_hosts_database(host):
    result = manage(host, "runs", "flow-run", "ls")
    assert result.returncode == 1
    assert "run `python manage.py migrate`" in result.stderr
    assert "Traceback" not in result.stderr


def test_commands_run_with_the_hosts_settings(host):
    assert manage(host, "migrate", "-v", "0").returncode == 0
    listed = manage(host, "runs", "flow-run", "ls")
    assert listed.returncode == 0, listed.stderr
    view = manage(host, "runs", "config", "view")
    assert view.returncode == 0, view.stderr
    lines = {line.split()[0]: line for line in view.stdout.splitlines() if line.strip()}
    assert "django settings" in lines["RUNS_TASK_DEFAULT_RETRIES"]
    assert str(host / "runs-home") in view.stdout
    # runs' own home holds what runs keeps; the host's database file stays where it is
    assert (host / "host.sqlite3").exists()
    assert not (host / "runs-home" / "runs.sqlite3").exists()


def test_runs_help_and_errors_pass_through(host):
    helped = manage(host, "runs", "--help")
    assert helped.returncode == 0
    assert "flow-run" in helped.stdout
    unknown = manage(host, "runs", "no-such-command")
    assert unknown.returncode == 2


def test_djangos_settings_option_is_not_runs_to_parse(host):
    result = manage(host, "runs", "--settings=hostsite.settings", "flow-run", "ls")
    assert result.returncode == 0, result.stderr
