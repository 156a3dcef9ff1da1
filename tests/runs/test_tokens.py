"""`runs token create USERNAME` and `runs token revoke USERNAME` through a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.runs.api import seed


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", "token", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_create_prints_a_working_token_and_revoke_stops_it():
    user = seed.user()

    created = cli("create", user.username)
    key = created.stdout.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    allowed = client.get("/api/flow-runs/").status_code
    revoked = cli("revoke", user.username)

    assert created.returncode == 0, created.stderr
    assert Token.objects.filter(key=key, user=user).exists() is False  # revoked since
    assert allowed == 200
    assert revoked.returncode == 0
    assert f"Revoked the API token of {user.username}" in revoked.stdout
    assert client.get("/api/flow-runs/").status_code == 401


def test_create_twice_prints_the_same_token_and_says_so():
    user = seed.user()

    first = cli("create", user.username)
    second = cli("create", user.username)

    assert first.stdout == second.stdout
    assert "already had this token" in second.stderr


def test_unknown_user_is_an_error_saying_how_to_create_one():
    done = cli("create", "nobody-by-this-name")

    assert done.returncode == 1
    assert "No user is named 'nobody-by-this-name'" in done.stderr
    assert "createsuperuser" in done.stderr
    assert done.stdout == ""


def test_revoke_without_a_token_says_nothing_to_revoke():
    user = seed.user()

    done = cli("revoke", user.username)

    assert done.returncode == 0
    assert "nothing to revoke" in done.stdout
