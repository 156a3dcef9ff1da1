"""`runs concurrency-limit` prints tags and task run names with control characters escaped, one
table row per line."""

from __future__ import annotations

import re
import threading
import uuid

from runs import flow, task
from tests.limits.test_cli import cli

#: What must never reach the terminal: C0 controls but the newline ending each line, DEL, C1.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _rows(output: str, start: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(start)]


def test_ls_and_inspect_escape_tags_and_task_run_names():
    suffix = uuid.uuid4().hex[:6]
    tag = f"a\nb\x1b[31m-{suffix}"
    printed_tag = f"a\\nb\\x1b[31m-{suffix}"
    created = cli("create", tag, "1")
    assert created.returncode == 0, created.stderr
    assert not RAW_CONTROL.search(created.stdout) and printed_tag in created.stdout
    assert cli("create", f"plain-{suffix}", "2").returncode == 0

    holding = threading.Event()
    release = threading.Event()
    output = {}

    @task(tags=[tag], task_run_name="holder\x1b[2J\x1b]0;pwned\x07")
    def hold():
        holding.set()
        release.wait(30)

    @flow
    def hold_a_slot():
        future = hold.submit()
        try:
            assert holding.wait(30)
            output["ls"] = cli("ls")
            output["inspect"] = cli("inspect", tag)
        finally:
            release.set()
        future.result()

    hold_a_slot()

    listing = output["ls"]
    assert listing.returncode == 0, listing.stderr
    assert not RAW_CONTROL.search(listing.stdout), repr(listing.stdout)
    (row,) = _rows(listing.stdout, printed_tag)
    assert row.split()[1:3] == ["1", "1"]
    (plain,) = _rows(listing.stdout, f"plain-{suffix}")
    column = listing.stdout.splitlines()[0].index("LIMIT")
    assert row[column] == "1" and plain[column] == "2"  # the columns still line up

    inspect = output["inspect"]
    assert inspect.returncode == 0, inspect.stderr
    assert not RAW_CONTROL.search(inspect.stdout), repr(inspect.stdout)
    (limit_row,) = _rows(inspect.stdout, printed_tag)
    assert limit_row.split()[1:3] == ["1", "1"]
    (holder,) = _rows(inspect.stdout, "holder\\x1b[2J\\x1b]0;pwned\\x07")
    assert "Running" in holder

    deleted = cli("delete", tag)
    assert deleted.returncode == 0 and not RAW_CONTROL.search(deleted.stdout)
    missing = cli("inspect", tag)
    assert missing.returncode == 1
    assert not RAW_CONTROL.search(missing.stderr) and len(missing.stderr.splitlines()) == 1
