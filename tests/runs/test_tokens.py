"""API tokens: `runs token create|ls|revoke` through a subprocess, keys hashed at rest, expiry,
and the migration that hashes tokens made before knox."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runs.services import tokens
from tests.runs.api import seed

MIGRATION = ("runs", "0005_hashed_api_tokens")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", "token", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def api(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/flow-runs/")


def listed(username: str) -> list[str]:
    """The rows of `runs token ls USERNAME`, header and rule left out."""
    done = cli("ls", username)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[2:]


def test_create_prints_the_key_once_and_it_works_until_revoked_by_prefix():
    user = seed.user()

    created = cli("create", user.username)
    key = created.stdout.strip()
    allowed = api(key).status_code
    rows = listed(user.username)
    prefix = rows[0].split()[0]
    revoked = cli("revoke", prefix)

    assert created.returncode == 0, created.stderr
    assert created.stdout == key + "\n"  # only the key on stdout: $(runs token create NAME)
    assert "shown once; store it now; never expires" in created.stderr
    assert key not in created.stderr
    assert allowed == 200
    assert len(rows) == 1 and key.startswith(prefix) and "never" in rows[0]
    assert "active" in rows[0]
    assert revoked.returncode == 0, revoked.stderr
    assert f"Revoked the API token {prefix}" in revoked.stdout
    assert api(key).status_code == 401
    assert listed(user.username) == []


def test_expires_sets_the_expiry_and_a_bad_duration_names_the_flag():
    user = seed.user()

    created = cli("create", user.username, "--expires", "90d")
    bad = cli("create", user.username, "--expires", "90 days")
    expected = (timezone.now() + timedelta(days=90)).strftime("%Y-%m-%d")

    assert created.returncode == 0, created.stderr
    assert f"expires {expected}" in created.stderr
    assert f"{expected}" in listed(user.username)[0]
    assert api(created.stdout.strip()).status_code == 200
    assert bad.returncode == 2
    assert "argument --expires" in bad.stderr and "e.g. 30m, 12h, 90d, 2w" in bad.stderr
    assert bad.stdout == ""
    assert len(listed(user.username)) == 1  # the bad one made nothing


def test_an_expired_token_gets_401_saying_it_expired_and_what_to_do():
    user = seed.user()
    made = tokens.create_token(username=user.username, expires=timedelta(hours=1))

    tokens.expire_token(made.prefix, timezone.now() - timedelta(seconds=1))
    response = api(made.key)
    rows = listed(user.username)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "expired" in response.json()["detail"]
    assert f"runs token create {user.username}" in response.json()["detail"]
    assert "expired" in rows[0]  # still listed, so its owner sees why; revoke removes it
    assert api(made.key).json()["detail"] == response.json()["detail"]


def test_the_database_holds_no_plaintext_key():
    user = seed.user()
    key = cli("create", user.username, "--expires", "2w").stdout.strip()

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        knox_rows = cursor.fetchall()
        cursor.execute("SELECT * FROM authtoken_token")
        plaintext_rows = cursor.fetchall()

    assert api(key).status_code == 200
    assert knox_rows
    assert not any(key in str(value) for row in knox_rows for value in row)
    assert not any(key in str(value) for row in plaintext_rows for value in row)


def test_a_user_may_have_several_tokens_and_revoke_all_removes_them():
    user = seed.user()
    first = cli("create", user.username).stdout.strip()
    second = cli("create", user.username, "--expires", "12h").stdout.strip()

    both_work = (api(first).status_code, api(second).status_code)
    revoked = cli("revoke", "--user", user.username, "--all")
    again = cli("revoke", "--user", user.username, "--all")

    assert first != second
    assert both_work == (200, 200)
    assert f"Revoked 2 API token(s) of {user.username}" in revoked.stdout
    assert (api(first).status_code, api(second).status_code) == (401, 401)
    assert "nothing to revoke" in again.stdout


def test_revoke_needs_a_prefix_or_user_and_all():
    bare = cli("revoke")
    user_only = cli("revoke", "--user", "someone")
    short = cli("revoke", "abc")
    unknown = cli("revoke", "zzzzzzzzzz")

    assert bare.returncode == user_only.returncode == short.returncode == 1
    assert "--user NAME --all" in bare.stderr and "--user NAME --all" in user_only.stderr
    assert "at least 6 characters" in short.stderr
    assert unknown.returncode == 1 and "No token has the prefix 'zzzzzzzzzz'" in unknown.stderr


def test_unknown_user_is_an_error_and_no_user_is_created():
    done = cli("create", "nobody-by-this-name")

    assert done.returncode == 1
    assert "No user is named 'nobody-by-this-name'" in done.stderr
    assert "runs user create nobody-by-this-name" in done.stderr
    assert done.stdout == ""
    assert not get_user_model().objects.filter(username="nobody-by-this-name").exists()


def test_a_header_that_is_not_utf8_is_an_invalid_token_not_a_500():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token caf\xe9")

    response = client.get("/api/flow-runs/")

    assert response.status_code == 401
    assert "Invalid token" in response.json()["detail"]


def test_tokens_made_before_knox_keep_working_and_leave_no_plaintext():
    # What `runs token create` stored before knox: DRF's Token, the key in plain text.
    user = seed.user()
    old = Token.objects.create(user=user)
    refused_before = api(old.key).status_code  # the plaintext table is no longer read
    apps_before = MigrationLoader(connection).project_state(MIGRATION, at_end=False).apps
    migration = importlib.import_module("runs.migrations.0005_hashed_api_tokens")

    migration.hash_plaintext_tokens(apps_before, None)

    assert refused_before == 401
    assert api(old.key).status_code == 200
    assert not Token.objects.filter(key=old.key).exists()
    [row] = tokens.list_tokens(user.username)
    assert old.key.startswith(row.prefix)
    assert row.expiry is None
    assert row.created == old.created
