"""``runs work-queue``: make, list, inspect (the line in order), pause, limit, delete; mistakes
are one-line errors naming the flag."""

from __future__ import annotations

import uuid

import pytest

from runs.cli import main
from runs.registry import register_flow
from runs.selectors.work_queues import work_queue_detail
from runs.services.work_queues import get_work_queue


def unique(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["work-queue", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_create_then_ls_shows_its_limit_and_pause(capsys):
    name = unique()

    status, out, _ = run(capsys, "create", name, "--limit", "3", "--description", "nightly")
    assert status == 0
    assert f"Created work queue '{name}' (limit 3)" in out
    assert f"runs worker -Q {name}" in out

    status, out, _ = run(capsys, "ls")
    assert status == 0
    line = next(row for row in out.splitlines() if row.startswith(name))
    assert line.split()[:3] == [name, "3", "0"]
    assert "nightly" in line


def test_pause_resume_and_limits_change_the_queue(capsys):
    name = unique()
    run(capsys, "create", name, "--paused")
    assert get_work_queue(name).paused

    assert run(capsys, "resume", name)[0] == 0
    assert not get_work_queue(name).paused
    assert run(capsys, "pause", name)[0] == 0
    assert get_work_queue(name).paused
    status, out, _ = run(capsys, "set-concurrency-limit", name, "0")
    assert status == 0 and "limit 0" in out
    assert get_work_queue(name).concurrency_limit == 0
    status, out, _ = run(capsys, "clear-concurrency-limit", name)
    assert status == 0 and "limit none" in out
    assert get_work_queue(name).concurrency_limit is None


def test_inspect_shows_the_waiting_line_in_order(capsys):
    register_flow("tests.runs.deploy_flows:hello")
    name = unique()
    run(capsys, "create", name, "--limit", "0")
    deployment = unique("dep")
    main(["deployment", "create", "tests.runs.deploy_flows:hello", "--name", deployment,
          "--queue", name])  # fmt: skip
    for who in ("first", "second"):
        assert main(["deployment", "run", f"deploy-tests-hello/{deployment}",
                     "--param", f"name={who}"]) == 0  # fmt: skip
    capsys.readouterr()
    line = work_queue_detail(name).waiting_runs

    status, out, _ = run(capsys, "inspect", name)

    assert status == 0
    assert "Limit      0" in out
    assert "Waiting    2 due" in out
    rows = [row.split() for row in out.splitlines() if row.split()[:1] in (["1"], ["2"])]
    assert [(row[0], row[1]) for row in rows] == [("1", str(line[0].id)), ("2", str(line[1].id))]
    assert [r.parameters["name"] for r in line] == ["first", "second"]


def test_delete_removes_an_unused_queue(capsys):
    name = unique()
    run(capsys, "create", name)

    status, out, _ = run(capsys, "delete", name)

    assert status == 0 and f"Deleted work queue '{name}'" in out
    assert run(capsys, "inspect", name)[0] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "NAME", "--limit", "-1"], "--limit: the concurrency limit must be"),
        (["create", "NAME", "--limit", "many"], "--limit: the concurrency limit must be"),
        (["create", "bad name!"], "1 to 100 letters"),
        (["set-concurrency-limit", "default", "x"], "N: the concurrency limit must be"),
        (["inspect", "no-such-queue"], "No work queue is called 'no-such-queue'"),
        (["pause", "no-such-queue"], "runs work-queue create no-such-queue"),
        (["delete", "default"], "default work queue cannot be deleted"),
    ],
)
def test_mistakes_are_one_line_errors(capsys, args, message):
    args = [unique() if a == "NAME" else a for a in args]

    status, _, err = run(capsys, *args)

    assert status == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_taken_name_is_refused(capsys):
    name = unique()
    run(capsys, "create", name)

    status, _, err = run(capsys, "create", name)

    assert status == 1 and "already exists" in err
