"""`runs user create | set-role | ls` through a subprocess, and what the accounts may then do."""

from __future__ import annotations

import os
import subprocess
import sys

from django.contrib.auth import authenticate
from django.test import Client

from tests.runs.api.seed import unique


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", "user", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=os.environ.copy(),
        timeout=120,
    )


def _signed_in(username: str, password: str) -> Client:
    client = Client()
    assert client.login(username=username, password=password)
    return client


def test_create_with_a_password_file_makes_an_account_with_that_role(tmp_path):
    name = unique("ops")
    secret = tmp_path / "password"
    secret.write_text("correct-horse-battery\n")

    done = cli("create", name, "--role", "operator", "--password-file", str(secret))

    assert done.returncode == 0, done.stderr
    assert f"Created {name} with the operator role" in done.stdout
    client = _signed_in(name, "correct-horse-battery")
    assert client.get("/flows/").status_code == 200
    assert (
        client.post("/limits/", {"tag": unique("t"), "concurrency_limit": "1"}).status_code == 403
    )


def test_create_reads_the_password_from_standard_input():
    name = unique("viewer")

    done = cli("create", name, "--role", "Viewer", "--password-file", "-", stdin="s3cret-enough\n")

    assert done.returncode == 0, done.stderr
    assert authenticate(username=name, password="s3cret-enough") is not None


def test_without_a_terminal_or_password_file_it_says_what_to_give():
    name = unique("nobody")

    done = cli("create", name, "--role", "viewer", stdin="")

    assert done.returncode == 1
    assert "--password-file" in done.stderr and "--no-password" in done.stderr
    assert name not in cli("ls").stdout


def test_a_short_password_is_refused_with_the_validators_reason(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("short\n")

    done = cli("create", unique("weak"), "--role", "viewer", "--password-file", str(secret))

    assert done.returncode == 1
    assert "The password was refused" in done.stderr and "too short" in done.stderr


def test_an_existing_name_and_an_unknown_role_are_errors():
    name = unique("twice")
    first = cli("create", name, "--role", "viewer", "--no-password")

    again = cli("create", name, "--role", "admin", "--no-password")
    bad_role = cli("create", unique("x"), "--role", "boss", "--no-password")

    assert first.returncode == 0, first.stderr
    assert again.returncode == 1 and f"`runs user set-role {name} ROLE`" in again.stderr
    assert bad_role.returncode == 2 and "invalid choice: 'boss'" in bad_role.stderr


def test_set_role_changes_what_the_account_may_do(tmp_path):
    name = unique("raised")
    secret = tmp_path / "password"
    secret.write_text("long-enough-pw\n")
    cli("create", name, "--role", "viewer", "--password-file", str(secret))
    client = _signed_in(name, "long-enough-pw")
    limit = {"tag": unique("by-new-admin"), "concurrency_limit": "1"}
    refused = client.post("/limits/", limit)

    done = cli("set-role", name, "admin")

    assert refused.status_code == 403
    assert done.returncode == 0, done.stderr
    assert f"{name} now has the admin role" in done.stdout
    assert client.post("/limits/", limit).status_code == 302
    assert client.get("/admin/").status_code == 200  # Admins are staff


def test_set_role_of_an_unknown_user_says_how_to_find_one():
    done = cli("set-role", "no-such-user-here", "viewer")

    assert done.returncode == 1
    assert "No user is named 'no-such-user-here'" in done.stderr and "runs user ls" in done.stderr


def test_ls_shows_name_role_active_and_last_login(tmp_path):
    viewer, admin = unique("ls-viewer"), unique("ls-admin")
    secret = tmp_path / "password"
    secret.write_text("long-enough-pw\n")
    cli("create", viewer, "--role", "viewer", "--password-file", str(secret))
    cli("create", admin, "--role", "admin", "--no-password")
    _signed_in(viewer, "long-enough-pw")

    done = cli("ls")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "ACTIVE", "LAST", "LOGIN"]
    viewer_row = next(line for line in lines if line.startswith(viewer)).split()
    admin_row = next(line for line in lines if line.startswith(admin)).split()
    assert viewer_row[1:3] == ["viewer", "yes"] and viewer_row[3] != "never"
    assert admin_row[1:] == ["admin", "yes", "never"]
