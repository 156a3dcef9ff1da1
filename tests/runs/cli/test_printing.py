"""Stored values print escaped: `safe`, and `runs flow-run ls / inspect` on a run whose name,
parameters, tags and messages hold control characters."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from runs import flow, tags, task
from runs.cli.printing import safe

#: What must never reach the terminal: C0 controls but the newline ending each line, DEL, C1.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

ESC_RED = "\x1b[31m"


def runs_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("plain text, café, 日本", "plain text, café, 日本"),
        ("red\x1b[31m", "red\\x1b[31m"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("next line\x85csi\x9b", "next line\\x85csi\\x9b"),
        ("\u202eevil\u2028", "\\u202eevil\\u2028"),
        ("C:\\temp\\x1b", "C:\\temp\\x1b"),
        (None, ""),
        (3, "3"),
        ({"a": "\x1b"}, "{'a': '\\x1b'}"),
    ],
)
def test_safe_escapes_control_characters_only(value, printed):
    assert safe(value) == printed


def test_every_c0_c1_and_del_character_is_escaped_like_repr():
    for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]:
        char = chr(code)
        assert safe(f"<{char}>") == f"<{repr(char)[1:-1]}>"


def _assert_terminal_safe(output: str) -> None:
    assert not RAW_CONTROL.search(output), repr(output)


def test_flow_run_ls_and_inspect_print_escaped_values():
    @task(task_run_name="task\x1b[2Jclear")
    def shout(text: str) -> str:
        raise ValueError(f"bad\x1b]0;title\x07\nsecond line {text}")

    @flow(name="escaped-flow", flow_run_name="run\x1b[31m-{text}")
    def escaped(text: str):
        shout(text)

    with tags("a\nb", f"red{ESC_RED}"):
        state = escaped(f"p{ESC_RED}x\ny", return_state=True)
    run_id = str(state.flow_run_id)

    listing = runs_cli("flow-run", "ls", "--flow", "escaped-flow")
    assert listing.returncode == 0, listing.stderr
    _assert_terminal_safe(listing.stdout)
    rows = [line for line in listing.stdout.splitlines() if line.startswith(run_id)]
    assert len(rows) == 1 and "run\\x1b[31m-p\\x1b[31mx\\ny" in rows[0]

    inspect = runs_cli("flow-run", "inspect", run_id)
    assert inspect.returncode == 0, inspect.stderr
    _assert_terminal_safe(inspect.stdout)
    lines = inspect.stdout.splitlines()
    assert f"Flow run   run\\x1b[31m-p\\x1b[31mx\\ny ({run_id})" in lines
    assert "Parameters {'text': 'p\\x1b[31mx\\ny'}" in lines
    (tag_line,) = [line for line in lines if line.startswith("Tags")]
    assert "a\\nb" in tag_line and "red\\x1b[31m" in tag_line
    (state_line,) = [line for line in lines if line.startswith("State")]
    assert "Failed" in state_line
    (task_row,) = [line for line in lines if line.startswith("task\\x1b[2Jclear")]
    assert "bad\\x1b]0;title\\x07" in task_row


def test_errors_naming_a_stored_value_stay_one_escaped_line():
    result = runs_cli("flow-run", "inspect", f"no{ESC_RED}such\nid")
    assert result.returncode == 1
    _assert_terminal_safe(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "\\x1b[31m" in result.stderr


def test_an_error_quoting_foreign_text_is_printed_escaped(tmp_path):
    (tmp_path / "noisy_flows.py").write_text(
        'raise ImportError("bad\\x1b[31m\\nsecond line")\n', encoding="utf-8"
    )
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-m", "runs.cli", "deploy", "noisy_flows:etl"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    _assert_terminal_safe(result.stderr)
    (line,) = result.stderr.strip().splitlines()
    assert line.endswith("bad\\x1b[31m\\nsecond line."), line
