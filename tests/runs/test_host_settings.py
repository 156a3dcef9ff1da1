"""Settings from a host project's ``RUNS`` dict: after the environment and the profile, before
the defaults; keys are the settings' names without ``RUNS_``."""

from __future__ import annotations

import pytest
from django.test import override_settings

from runs import conf


def test_a_runs_dict_sets_values_with_their_types(tmp_path):
    settings = conf.Settings(
        environ={"RUNS_HOME": str(tmp_path)},
        host={
            "TASK_DEFAULT_RETRIES": 3,
            "FLOW_MODULES": ["shop.flows", "billing.flows"],
            "TASK_DEFAULT_RETRY_DELAY_SECONDS": [1, 10],
            "TASKS_REFRESH_CACHE": True,
            "LOCAL_STORAGE_PATH": tmp_path / "results",
        },
    )
    assert settings.RUNS_TASK_DEFAULT_RETRIES == 3
    assert settings.RUNS_FLOW_MODULES == ["shop.flows", "billing.flows"]
    assert settings.RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS == [1.0, 10.0]
    assert settings.RUNS_TASKS_REFRESH_CACHE is True
    assert settings.RUNS_LOCAL_STORAGE_PATH == tmp_path / "results"
    assert settings.source("RUNS_FLOW_MODULES") == "django settings"
    assert settings.source("RUNS_FLOW_DEFAULT_RETRIES") == "default"


def test_environment_then_profile_then_runs_dict_then_default(tmp_path):
    conf.write_profile_value(tmp_path / "profiles.toml", "RUNS_FLOW_DEFAULT_RETRIES", "5")
    host = {"TASK_DEFAULT_RETRIES": 3, "FLOW_DEFAULT_RETRIES": 4, "RETENTION_DAYS": 7}
    settings = conf.Settings(
        environ={"RUNS_HOME": str(tmp_path), "RUNS_TASK_DEFAULT_RETRIES": "1"}, host=host
    )
    assert (settings.RUNS_TASK_DEFAULT_RETRIES, settings.source("RUNS_TASK_DEFAULT_RETRIES")) == (
        1,
        "environment",
    )
    assert settings.RUNS_FLOW_DEFAULT_RETRIES == 5
    assert settings.source("RUNS_FLOW_DEFAULT_RETRIES").startswith("profile ")
    assert settings.RUNS_RETENTION_DAYS == 7
    assert settings.RUNS_HEARTBEAT_SECONDS == 5.0


def test_the_home_itself_may_come_from_the_runs_dict(tmp_path):
    settings = conf.Settings(environ={}, host={"HOME": str(tmp_path / "home")})
    assert settings.RUNS_HOME == tmp_path / "home"
    assert settings.RUNS_LOCAL_STORAGE_PATH == tmp_path / "home" / "storage"


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("NO_SUCH_THING", "unknown key 'NO_SUCH_THING'"),
        ("RUNS_TASK_DEFAULT_RETRIES", "write 'TASK_DEFAULT_RETRIES'"),
    ],
)
def test_unknown_keys_are_refused_by_name(tmp_path, key, says):
    settings = conf.Settings(environ={"RUNS_HOME": str(tmp_path)}, host={key: 1})
    with pytest.raises(conf.SettingError, match=says):
        settings.host_values()


def test_a_bad_value_names_the_setting_and_the_runs_dict(tmp_path):
    settings = conf.Settings(environ={"RUNS_HOME": str(tmp_path)}, host={"RETENTION_DAYS": -1})
    with pytest.raises(
        conf.SettingError, match=r"RUNS_RETENTION_DAYS='-1' \(from django settings\)"
    ):
        settings.RUNS_RETENTION_DAYS  # noqa: B018


def test_djangos_settings_are_read_through_the_app(tmp_path):
    settings = conf.Settings(environ={"RUNS_HOME": str(tmp_path)})
    with override_settings(RUNS={"SCHEDULER_MAX_RUNS": 9}):
        assert settings.RUNS_SCHEDULER_MAX_RUNS == 9
        assert settings.source("RUNS_SCHEDULER_MAX_RUNS") == "django settings"
    with override_settings(RUNS="not a dict"):
        with pytest.raises(conf.SettingError, match="settings.RUNS must be a dict"):
            conf.Settings(environ={"RUNS_HOME": str(tmp_path)}).RUNS_SCHEDULER_MIN_RUNS  # noqa: B018
