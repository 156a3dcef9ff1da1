"""``runs config set`` refuses what the runtime would refuse, and a malformed setting from the
environment or the profile file stops every command with one line naming it."""

from __future__ import annotations

import os

import pytest

from runs import conf
from runs.cli import main
from tests.runs.test_conf import run_cli


@pytest.fixture
def private_settings(tmp_path, monkeypatch):
    """The CLI in this process, reading and writing the profile of an empty RUNS_HOME."""
    environ = {k: v for k, v in os.environ.items() if k not in conf.SETTINGS}
    environ["RUNS_HOME"] = str(tmp_path / "home")
    settings = conf.Settings(environ)
    monkeypatch.setattr(conf, "settings", settings)
    return settings


def private_env(tmp_path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in conf.SETTINGS}
    return {**env, "RUNS_HOME": str(tmp_path / "home"), **values}


@pytest.mark.parametrize(
    "assignment",
    [
        "DATABASE_URL=notaurl",
        "DATABASE_URL=postgres://[bad",
        "DATABASE_URL=mysql://user@host/runs",
        "CELERY_BROKER_URL=bogus://",
        "CELERY_BROKER_URL=redis://host:port/0",
        "RUNS_API_URL=notaurl",
        "RUNS_DEFAULT_TASK_RUNNER=foo",
        "RUNS_HEARTBEAT_SECONDS=0",
        "RUNS_HEARTBEAT_SECONDS=-1",
        "RUNS_HEARTBEAT_SECONDS=abc",
        "RUNS_RETENTION_DAYS=99999999",
    ],
)
def test_config_set_refuses_a_value_the_runtime_would_refuse_and_saves_nothing(
    assignment, private_settings, capsys
):
    name = assignment.split("=", 1)[0]

    status = main(["config", "set", "RUNS_TASK_DEFAULT_RETRIES=1", assignment])

    assert status == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: {name}=")
    assert "is not valid" in lines[0] and f"Example of a valid value: {name}=" in lines[0]
    assert not private_settings.profile_path.exists()  # not even the valid assignment


def test_config_set_accepts_what_the_runtime_accepts(private_settings, capsys):
    status = main(
        [
            "config",
            "set",
            "DATABASE_URL=postgres://user@127.0.0.1:5432/runs",
            "CELERY_BROKER_URL=redis://127.0.0.1:6379/0",
            "RUNS_API_URL=http://127.0.0.1:8000",
            "RUNS_DEFAULT_TASK_RUNNER=Celery",
            "RUNS_HEARTBEAT_SECONDS=0.5",
        ]
    )

    assert status == 0, capsys.readouterr().err
    saved = conf.read_profile(private_settings.profile_path)
    assert saved["DATABASE_URL"] == "postgres://user@127.0.0.1:5432/runs"
    assert saved["RUNS_HEARTBEAT_SECONDS"] == "0.5"
    read_back = conf.Settings({"RUNS_HOME": str(private_settings.RUNS_HOME)})
    assert read_back.RUNS_DEFAULT_TASK_RUNNER == "celery"
    assert read_back.RUNS_HEARTBEAT_SECONDS == 0.5


@pytest.mark.parametrize("url", ["notaurl", "postgres://[bad"])
def test_malformed_database_url_from_environment_stops_flow_run_ls_with_one_line(url, tmp_path):
    result = run_cli("flow-run", "ls", env=private_env(tmp_path, DATABASE_URL=url))

    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: DATABASE_URL={url!r} (from environment) is not valid")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Example of a valid value: DATABASE_URL=" in result.stderr


def test_malformed_database_url_from_the_profile_file_names_the_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        'active = "default"\n[profiles.default]\nDATABASE_URL = "notaurl"\n'
    )

    result = run_cli("flow-run", "ls", env=private_env(tmp_path))

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: DATABASE_URL='notaurl' (from profile {home / 'profiles.toml'}) is not valid"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_database_url_stops_runs_up_before_it_starts_anything(tmp_path):
    result = run_cli("up", "--port", "1", env=private_env(tmp_path, DATABASE_URL="notaurl"))

    assert result.returncode == 1
    assert result.stderr.startswith("Error: DATABASE_URL='notaurl' (from environment)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_a_profile_file_that_is_not_toml_is_one_line_saying_how_to_fix_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text("this is = = not toml\n")

    result = run_cli("config", "view", env=private_env(tmp_path))

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: The profile file {home / 'profiles.toml'} is not valid TOML"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_never_prints_a_secret_or_a_url_password(tmp_path):
    key = "k" * 40
    env = private_env(tmp_path)

    saved = run_cli("config", "set", f"RUNS_API_KEY={key}", env=env)
    listed = run_cli(
        "config",
        "view",
        env={**env, "DATABASE_URL": "postgres://runs:s3cret-pw@127.0.0.1:5432/runs"},
    )

    assert saved.returncode == 0, saved.stderr
    assert key not in saved.stdout and "kkkk… (hidden, 40 characters)" in saved.stdout
    assert key not in listed.stdout and "(hidden, 40 characters)" in listed.stdout
    assert "s3cret-pw" not in listed.stdout
    assert "postgres://runs:***@127.0.0.1:5432/runs" in listed.stdout
