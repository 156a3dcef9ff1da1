"""Settings for running `runs` for a team behind a proxy: host names, trusted origins, TLS, and
sign-in throttling (issue 14, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.test import Client

from runs import conf

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "RUNS_HOME": str(tmp_path), **env}
    environment.pop("RUNS_ALLOWED_HOSTS", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_by_default_only_local_host_names_are_answered():
    """A forged Host header is refused (400), so it never comes back in links or redirects."""
    default = conf.SETTINGS["RUNS_ALLOWED_HOSTS"].default
    assert default == ["localhost", "127.0.0.1", "[::1]"]

    response = Client(HTTP_HOST="evil.example").get("/login/")
    assert response.status_code == 400


def test_deploy_check_is_clean_behind_a_tls_proxy(tmp_path):
    """With the host, the trusted origin and RUNS_BEHIND_TLS_PROXY set, Django's deployment
    check finds nothing; without them it names the cookie and HTTPS settings."""
    behind = _manage(
        "check",
        "--deploy",
        tmp_path=tmp_path,
        RUNS_ALLOWED_HOSTS="runs.example.com",
        RUNS_CSRF_TRUSTED_ORIGINS="https://runs.example.com",
        RUNS_BEHIND_TLS_PROXY="true",
    )
    assert behind.returncode == 0, behind.stderr
    assert "no issues" in behind.stdout

    plain = _manage("check", "--deploy", tmp_path=tmp_path)
    assert "security.W012" in plain.stderr + plain.stdout  # session cookie not secure


def test_behind_a_tls_proxy_forwarded_https_is_trusted(tmp_path):
    """The proxy's X-Forwarded-Proto makes requests secure, cookies are secure-only, and a
    dashboard form posted from the trusted origin passes the CSRF check."""
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.CSRF_TRUSTED_ORIGINS, s.ALLOWED_HOSTS)\n"
    )
    environment = {
        **os.environ,
        "RUNS_HOME": str(tmp_path),
        "RUNS_BEHIND_TLS_PROXY": "true",
        "RUNS_ALLOWED_HOSTS": "runs.example.com",
        "RUNS_CSRF_TRUSTED_ORIGINS": "https://runs.example.com",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "['https://runs.example.com']",
        "['runs.example.com']",
    ]


def test_sign_in_is_locked_after_the_failure_limit():
    """After RUNS_LOGIN_FAILURE_LIMIT (10) wrong passwords for one user name from one address,
    even the right password is refused with a 429 page that says why and for how long."""
    from django.contrib.auth import get_user_model

    username = f"throttled-{uuid.uuid4().hex[:8]}"
    get_user_model().objects.create_user(username=username, password="right-password-1")
    client = Client()
    for _ in range(conf.settings.RUNS_LOGIN_FAILURE_LIMIT):
        response = client.post("/login/", {"username": username, "password": "wrong"})
        assert response.status_code in (200, 429)
    locked = client.post("/login/", {"username": username, "password": "right-password-1"})
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many sign-in attempts" in text and "15 minutes" in text

    other = f"fine-{uuid.uuid4().hex[:8]}"
    get_user_model().objects.create_user(username=other, password="right-password-2")
    signed_in = Client().post("/login/", {"username": other, "password": "right-password-2"})
    assert signed_in.status_code == 302  # another user name from the same address still works


def test_runs_up_answers_to_the_address_it_binds(monkeypatch, tmp_path):
    """`runs up --host` adds the address it binds to the default host names (this machine's
    names when it binds every address); a RUNS_ALLOWED_HOSTS the user set is left alone."""
    import socket

    from runs.cli.up import answered_hosts

    environ = {k: v for k, v in os.environ.items() if k != "RUNS_ALLOWED_HOSTS"}
    environ["RUNS_HOME"] = str(tmp_path)
    monkeypatch.setattr(conf, "settings", conf.Settings(environ))
    assert answered_hosts("127.0.0.1") == ["localhost", "127.0.0.1", "[::1]"]
    assert answered_hosts("10.1.2.3") == ["localhost", "127.0.0.1", "[::1]", "10.1.2.3"]
    assert socket.gethostname() in answered_hosts("0.0.0.0")

    monkeypatch.setattr(conf, "settings", conf.Settings({**environ, "RUNS_ALLOWED_HOSTS": "a.b"}))
    assert answered_hosts("0.0.0.0") is None
