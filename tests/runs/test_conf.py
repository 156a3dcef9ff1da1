"""Settings: environment, profile file, `runs config`, decorator precedence, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from runs import conf


def run_python(code: str, env: dict[str, str], cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runs.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def private_home(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNS_TASK")}
    env["RUNS_HOME"] = str(tmp_path / "home")
    return env


def test_parse_delays_and_errors_name_the_setting():
    assert conf.parse_setting("RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS", "[1, 10, 100]") == [
        1,
        10,
        100,
    ]
    assert conf.parse_setting("RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS", "2.5") == 2.5
    with pytest.raises(conf.SettingError, match="RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS='abc'"):
        conf.parse_setting("RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS", "abc")
    with pytest.raises(conf.SettingError, match="Unknown setting"):
        conf.parse_setting("RUNS_NOPE", "1")


SCRIPT = """
    from runs import flow, task
    attempts = []
    @task
    def flaky():
        attempts.append(1)
        raise ValueError("x")
    @task(retries=0)
    def decorated():
        attempts.append(2)
        raise ValueError("y")
    @flow
    def f():
        flaky(return_state=True)
        n = len(attempts)
        decorated(return_state=True)
        return n, len(attempts) - n
    print(f())
"""


def test_default_retries_from_environment_and_decorator_wins(private_home):
    env = {
        **private_home,
        "RUNS_TASK_DEFAULT_RETRIES": "2",
        "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS": "[0, 0]",
    }
    out = run_python(SCRIPT, env)
    assert out.returncode == 0, out.stderr
    assert "(3, 1)" in out.stdout


def test_config_set_view_unset_through_profile(private_home):
    result = run_cli(
        "config",
        "set",
        "RUNS_TASK_DEFAULT_RETRIES=1",
        "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS=[0]",
        env=private_home,
    )
    assert result.returncode == 0, result.stderr
    view = run_cli("config", "view", env=private_home)
    assert "RUNS_TASK_DEFAULT_RETRIES" in view.stdout and "profile" in view.stdout
    out = run_python(SCRIPT, private_home)
    assert "(2, 1)" in out.stdout, out.stderr
    assert run_cli("config", "unset", "RUNS_TASK_DEFAULT_RETRIES", env=private_home).returncode == 0
    out = run_python(SCRIPT, private_home)
    assert "(1, 1)" in out.stdout, out.stderr


def test_config_set_rejects_bad_value_and_keeps_profile(private_home):
    result = run_cli("config", "set", "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS=abc", env=private_home)
    assert result.returncode == 2
    assert "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    view = run_cli("config", "view", env=private_home)
    assert "abc" not in view.stdout


def test_malformed_environment_value_is_clear_error_at_run(private_home):
    env = {**private_home, "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS": "abc"}
    out = run_python(SCRIPT, env)
    assert out.returncode != 0
    assert (
        "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS='abc' (from environment) is not valid" in out.stderr
    )


def test_config_set_accepts_the_docs_spacing(private_home):
    result = run_cli(
        "config",
        "set",
        "RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS",
        "=",
        "[1,",
        "10,",
        "100]",
        env=private_home,
    )
    assert result.returncode == 0, result.stderr
    view = run_cli("config", "view", env=private_home)
    assert (
        "RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS" in view.stdout
        and "[1.0, 10.0, 100.0]" in view.stdout
    )


def test_prefect_name_of_the_cache_key_limit_is_accepted_too():
    from runs.conf import Settings

    settings = Settings(
        {"RUNS_HOME": "/tmp/runs-alias-test", "RUNS_API_TASK_CACHE_KEY_MAX_LENGTH": "12"}
    )
    assert settings.RUNS_TASK_CACHE_KEY_MAX_LENGTH == 12
    assert settings.source("RUNS_TASK_CACHE_KEY_MAX_LENGTH") == "environment"


@pytest.mark.parametrize("url", ["notaurl", "postgres://[bad"])
def test_malformed_database_url_stops_a_flow_call_naming_the_setting_not_the_url_parser(
    private_home, url
):
    env = {**private_home, "DATABASE_URL": url}
    out = run_python(SCRIPT, env)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"runs.conf.SettingError: DATABASE_URL={url!r} (from environment) is not valid: "
    )
    assert "Example of a valid value: DATABASE_URL=" in last
    assert "dj_database_url" not in out.stderr


def test_malformed_database_url_names_the_setting_when_django_loads_the_settings(private_home):
    env = {**private_home, "DATABASE_URL": "notaurl"}
    out = run_python("import django; django.setup()", env)
    assert out.returncode != 0
    assert "SettingError: DATABASE_URL='notaurl' (from environment)" in out.stderr
    assert "dj_database_url" not in out.stderr


@pytest.mark.parametrize(
    "value, problem",
    [
        ("0", "above 0"),
        ("-1", "above 0"),
        ("abc", "expected a number of seconds"),
        ("nan", "finite"),
        ("inf", "finite"),
    ],
)
def test_heartbeat_seconds_must_be_a_positive_number(value, problem):
    settings = conf.Settings(
        {"RUNS_HOME": "/tmp/runs-heartbeat-test", "RUNS_HEARTBEAT_SECONDS": value}
    )
    with pytest.raises(conf.SettingError) as error:
        settings.RUNS_HEARTBEAT_SECONDS  # noqa: B018
    assert str(error.value).startswith(
        f"RUNS_HEARTBEAT_SECONDS={value!r} (from environment) is not valid"
    )
    assert problem in str(error.value)
    assert "Example of a valid value: RUNS_HEARTBEAT_SECONDS=5" in str(error.value)


def test_zero_heartbeat_in_the_environment_stops_a_flow_call(private_home):
    out = run_python(SCRIPT, {**private_home, "RUNS_HEARTBEAT_SECONDS": "0"})
    assert out.returncode != 0
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "runs.conf.SettingError: RUNS_HEARTBEAT_SECONDS='0' (from environment) is not valid"
        )
    )


def test_default_task_runner_is_read_as_thread_or_celery():
    def runner(value: str) -> str:
        return conf.Settings(
            {"RUNS_HOME": "/tmp/runs-runner-test", "RUNS_DEFAULT_TASK_RUNNER": value}
        ).RUNS_DEFAULT_TASK_RUNNER

    assert runner(" Celery ") == "celery"
    assert runner("threads") == "thread"
    with pytest.raises(conf.SettingError, match="RUNS_DEFAULT_TASK_RUNNER='foo'.*thread or celery"):
        runner("foo")
