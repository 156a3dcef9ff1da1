"""Every setting `runs` reads: from the environment, then the active profile, then a host
project's ``settings.RUNS`` dict (when runs is an app of another Django project), then the default.

This is the one module that reads ``os.environ`` for the project. Each setting has a type,
a default and a parser whose errors name the setting, the value, where it came from and what
to write instead.
"""

from __future__ import annotations

import json
import math
import os
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class SettingError(ValueError):
    """A setting holds a value that cannot be used."""


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


#: Longest age `runs prune` and RUNS_RETENTION_DAYS accept (a cut-off further back than this
#: leaves the calendar's range, and removes nothing a shorter one would keep).
MAX_AGE_DAYS = 36_500


def _whole_number(text: str) -> int:
    stripped = text.strip()
    if not stripped.lstrip("+-").isdigit():
        raise ValueError("expected a whole number")
    if len(stripped) > 18:
        raise ValueError("expected a whole number of at most 18 digits")
    return int(stripped)


def _whole_number_from(minimum: int) -> Callable[[str], int]:
    """A parser of whole numbers of ``minimum`` or more."""

    def parse(text: str) -> int:
        value = _whole_number(text)
        if value < minimum:
            raise ValueError(f"expected a whole number of {minimum} or more")
        return value

    return parse


_parse_nonnegative_int = _whole_number_from(0)
_parse_positive_int = _whole_number_from(1)


def _parse_message_length(text: str) -> int:
    value = _parse_nonnegative_int(text)
    if value < 100:
        raise ValueError("expected a number of characters of 100 or more")
    return value


def _parse_retention_days(text: str) -> int:
    value = _parse_nonnegative_int(text)
    if value > MAX_AGE_DAYS:
        raise ValueError(f"expected at most {MAX_AGE_DAYS} days (100 years); 0 keeps everything")
    return value


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not math.isfinite(value):
        raise ValueError("expected a finite number of seconds")
    return value


def _parse_seconds(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise ValueError("expected a number of seconds of 0 or more")
    return value


def _parse_positive_seconds(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise ValueError("expected a number of seconds above 0")
    return value


#: URL schemes of the databases `runs` works with (dj-database-url's names for them).
_DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")


def _parse_database_url(text: str) -> str | None:
    """A PostgreSQL or SQLite URL that Django can use, checked as ``runs_project.settings`` reads it."""
    url = text.strip()
    if not url:
        return None
    scheme, separator, _ = url.partition("://")
    if not separator:
        raise ValueError("it is not a URL (expected scheme://...)")
    if scheme.lower() not in _DATABASE_SCHEMES:
        raise ValueError(f"{scheme}:// is not a database runs can use (PostgreSQL or SQLite)")
    import dj_database_url

    try:
        database = dj_database_url.parse(url)
    except ValueError:
        raise ValueError(
            "it cannot be read as a URL (write special characters of the password as %XX)"
        ) from None
    if database["NAME"] in ("", ":memory:"):
        raise ValueError(
            "it names no database (an in-memory SQLite database is not shared between processes)"
        )
    return url


def _parse_broker_url(text: str) -> str | None:
    """A Celery broker URL (``;`` separates fail-over brokers) naming a transport kombu has."""
    url = text.strip()
    if not url:
        return None
    from kombu.transport import TRANSPORT_ALIASES

    for part in url.split(";"):
        scheme, separator, _ = part.strip().partition("://")
        if not separator:
            raise ValueError("it is not a URL (expected scheme://...)")
        transport = scheme.split("+", 1)[0]
        if transport not in TRANSPORT_ALIASES and transport.lower() not in TRANSPORT_ALIASES:
            raise ValueError(
                f"Celery has no transport named {transport!r} (unset it for the "
                "embedded filesystem broker)"
            )
        _check_port(part)
    return url


def _parse_api_url(text: str) -> str | None:
    url = text.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("expected the http:// or https:// address of a runs server")
    _check_port(url)
    return url


def _check_port(url: str) -> None:
    try:
        urlsplit(url.strip()).port  # noqa: B018  (reading it checks it)
    except ValueError:
        raise ValueError("its port is not a number from 0 to 65535") from None


_TASK_RUNNERS = {
    "thread": "thread",
    "threads": "thread",
    "threadpool": "thread",
    "": "thread",
    "celery": "celery",
}


def _parse_task_runner(text: str) -> str:
    try:
        return _TASK_RUNNERS[text.strip().lower()]
    except KeyError:
        raise ValueError("expected thread or celery") from None


def _parse_delays(text: str) -> float | list[float]:
    """A number (``10``) or a list of numbers (``[1, 10, 100]`` or ``1,10,100``)."""
    stripped = text.strip()
    try:
        value = json.loads(stripped) if stripped.startswith("[") else None
    except json.JSONDecodeError as exc:
        raise ValueError("expected a number or a list of numbers") from exc
    if value is None:
        parts = [p for p in stripped.split(",") if p.strip()]
        if len(parts) > 1:
            value = [float(p) for p in parts]
        else:
            value = float(stripped)
    if isinstance(value, list):
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise ValueError("expected a number or a list of numbers")
        delays = [float(v) for v in value]
    else:
        delays = [float(value)]
    if not all(math.isfinite(d) for d in delays):
        raise ValueError("delays must be finite numbers")
    if any(d < 0 for d in delays):
        raise ValueError("delays cannot be negative")
    return delays if isinstance(value, list) else delays[0]


def _parse_optional_text(text: str) -> str | None:
    return text or None


def _parse_list(text: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("["):
        return [str(v) for v in json.loads(stripped)]
    return [p.strip() for p in stripped.split(",") if p.strip()]


@dataclass(frozen=True)
class Setting:
    """One setting: its name, how to parse it, its default, and what it is for."""

    name: str
    parse: Callable[[str], Any]
    default: Callable[[Settings], Any] | Any
    help: str
    example: str


#: Other names a setting answers to: Prefect 2's own names, with PREFECT_ read as RUNS_.
ALIASES: dict[str, str] = {
    "RUNS_API_TASK_CACHE_KEY_MAX_LENGTH": "RUNS_TASK_CACHE_KEY_MAX_LENGTH",
}


def _home_default(_: Settings) -> Path:
    return Path("~/.runs").expanduser()


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "RUNS_HOME",
            lambda t: Path(t).expanduser(),
            _home_default,
            "folder for the database, results, profiles and the embedded broker",
            "/srv/runs",
        ),
        Setting(
            "RUNS_TASK_DEFAULT_RETRIES",
            _parse_nonnegative_int,
            0,
            "retries of a task that sets none",
            "3",
        ),
        Setting(
            "RUNS_FLOW_DEFAULT_RETRIES",
            _parse_nonnegative_int,
            0,
            "retries of a flow that sets none",
            "3",
        ),
        Setting(
            "RUNS_TASK_DEFAULT_RETRY_DELAY_SECONDS",
            _parse_delays,
            0.0,
            "delay between task retries",
            "[1, 10, 100]",
        ),
        Setting(
            "RUNS_FLOW_DEFAULT_RETRY_DELAY_SECONDS",
            _parse_delays,
            0.0,
            "delay between flow retries",
            "[1, 10, 100]",
        ),
        Setting(
            "RUNS_TASKS_REFRESH_CACHE",
            _parse_bool,
            False,
            "refresh the cache of every task whose refresh_cache is None",
            "true",
        ),
        Setting(
            "RUNS_LOCAL_STORAGE_PATH",
            lambda t: Path(t).expanduser(),
            lambda s: s.RUNS_HOME / "storage",
            "where persisted results are written",
            "/srv/runs/storage",
        ),
        Setting(
            "RUNS_TASK_CACHE_KEY_MAX_LENGTH",
            _parse_nonnegative_int,
            2000,
            "longest cache key accepted",
            "2000",
        ),
        Setting(
            "RUNS_LOG_MESSAGE_MAX_LENGTH",
            _parse_message_length,
            100_000,
            "longest log or state message stored, in characters (the rest is cut, marked)",
            "20000",
        ),
        Setting(
            "RUNS_TASK_RUN_TAG_CONCURRENCY_SLOT_WAIT_SECONDS",
            _parse_seconds,
            30.0,
            "longest a run waiting for a concurrency slot sleeps before checking again",
            "30",
        ),
        Setting(
            "RUNS_HEARTBEAT_SECONDS",
            _parse_positive_seconds,
            5.0,
            "how often a process renews the lease on the runs it executes",
            "5",
        ),
        Setting(
            "RUNS_API_URL",
            _parse_api_url,
            None,
            "REST API the client talks to; unset means in-process",
            "http://127.0.0.1:8000/api",
        ),
        Setting(
            "RUNS_API_KEY",
            _parse_optional_text,
            None,
            "token the client sends to RUNS_API_URL",
            "0123abcd...",
        ),
        Setting(
            "RUNS_DEFAULT_TASK_RUNNER",
            _parse_task_runner,
            "thread",
            "task runner of flows that set none: thread or celery",
            "celery",
        ),
        Setting(
            "RUNS_THREAD_RUNNER_MAX_WORKERS",
            _parse_nonnegative_int,
            0,
            "threads of the default task runner (0: a choice made from the CPU count)",
            "16",
        ),
        Setting(
            "RUNS_FLOW_MODULES",
            _parse_list,
            [],
            "modules whose flows the web form and API may start",
            "myapp.flows,other.flows",
        ),
        Setting(
            "RUNS_ADMIN_PASSWORD",
            _parse_optional_text,
            None,
            "password of the admin account `runs up` creates on first start",
            "s3cret",
        ),
        Setting(
            "RUNS_RETENTION_DAYS",
            _parse_retention_days,
            0,
            "days of finished runs a worker keeps (0 keeps everything)",
            "30",
        ),
        Setting("RUNS_DEBUG", _parse_bool, False, "Django debug mode", "true"),
        Setting(
            "RUNS_ALLOWED_HOSTS",
            _parse_list,
            ["localhost", "127.0.0.1", "[::1]"],
            "host names the web server answers to (Django ALLOWED_HOSTS); `runs up --host` "
            "adds the address it binds",
            "runs.example.com",
        ),
        Setting(
            "RUNS_CSRF_TRUSTED_ORIGINS",
            _parse_list,
            [],
            "origins whose dashboard forms are trusted, as a proxy in front shows them "
            "(Django CSRF_TRUSTED_ORIGINS)",
            "https://runs.example.com",
        ),
        Setting(
            "RUNS_BEHIND_TLS_PROXY",
            _parse_bool,
            False,
            "served through a proxy that ends TLS and sets X-Forwarded-Proto: secure cookies, "
            "HTTPS redirect and HSTS",
            "true",
        ),
        Setting(
            "RUNS_LOGIN_FAILURE_LIMIT",
            _parse_positive_int,
            10,
            "failed sign-ins from one address for one user name before it is locked out for "
            "15 minutes",
            "5",
        ),
        Setting(
            "RUNS_WEB_MAX_IN_FLIGHT",
            _parse_positive_int,
            4,
            "requests each web server process works on at once; more wait up to "
            "RUNS_WEB_QUEUE_SECONDS for a place, then are answered 503 with Retry-After",
            "8",
        ),
        Setting(
            "RUNS_WEB_QUEUE_SECONDS",
            _parse_seconds,
            0.5,
            "longest a request waits for one of RUNS_WEB_MAX_IN_FLIGHT places before the web "
            "server answers 503 (busy, retry later)",
            "1",
        ),
        Setting(
            "RUNS_DASHBOARD_POLL_SECONDS",
            _parse_positive_seconds,
            2.0,
            "how often a dashboard page refreshes itself while something on it runs",
            "1",
        ),
        Setting(
            "RUNS_SCHEDULER_LOOP_SECONDS",
            _parse_positive_seconds,
            5.0,
            "how often `runs scheduler` makes runs ahead, marks Late runs and starts queued runs",
            "10",
        ),
        Setting(
            "RUNS_SCHEDULER_MAX_RUNS",
            _parse_positive_int,
            100,
            "most runs the scheduler makes ahead for one schedule",
            "50",
        ),
        Setting(
            "RUNS_SCHEDULER_MIN_RUNS",
            _parse_nonnegative_int,
            3,
            "fewest runs the scheduler makes ahead for one schedule, however far off they are",
            "5",
        ),
        Setting(
            "RUNS_SCHEDULER_HORIZON_SECONDS",
            _parse_positive_seconds,
            8640000.0,
            "how far ahead the scheduler makes runs (100 days)",
            "86400",
        ),
        Setting(
            "RUNS_SCHEDULER_LATE_AFTER_SECONDS",
            _parse_seconds,
            15.0,
            "how long past its time a scheduled run waits before it is marked Late",
            "60",
        ),
        Setting(
            "RUNS_DASHBOARD_IDLE_POLL_SECONDS",
            _parse_positive_seconds,
            10.0,
            "how often a dashboard page looks for new runs while nothing on it runs",
            "30",
        ),
        Setting(
            "RUNS_SECRET_KEY",
            _parse_optional_text,
            None,
            "Django SECRET_KEY (generated under RUNS_HOME when unset)",
            "long-random-text",
        ),
        Setting(
            "DATABASE_URL",
            _parse_database_url,
            None,
            "database URL (default: SQLite at $RUNS_HOME/runs.sqlite3)",
            "postgres://user@127.0.0.1:5432/runs",
        ),
        Setting(
            "CELERY_BROKER_URL",
            _parse_broker_url,
            None,
            "Celery broker (default: a filesystem broker under RUNS_HOME)",
            "redis://127.0.0.1:6379/0",
        ),
    ]
}


#: Where a value from a host project's ``settings.RUNS`` dict is said to come from.
DJANGO_SOURCE = "django settings"


def host_key(name: str) -> str:
    """The key of setting ``name`` in a host's ``RUNS`` dict: its name without ``RUNS_``."""
    return name.removeprefix("RUNS_")


#: Reads a host project's ``settings.RUNS`` (set by runs' AppConfig once Django's settings are
#: configured; this module knows nothing of Django). None until then.
_host_reader: Callable[[], Any] | None = None


def read_host_settings_with(reader: Callable[[], Any] | None) -> None:
    """Take the host's ``RUNS`` dict from ``reader()`` from now on (None: no host settings)."""
    global _host_reader
    _host_reader = reader


def _host_runs_dict() -> dict[str, Any]:
    """The host project's ``RUNS`` dict (empty when there is none or it cannot be read yet)."""
    values = None if _host_reader is None else _host_reader()
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise SettingError(
            f"settings.RUNS must be a dict of runs settings, not {type(values).__name__}; "
            'for example RUNS = {"FLOW_MODULES": ["myapp.flows"]}.'
        )
    return values


def _as_text(value: Any) -> str:
    """A Python value of a ``RUNS`` dict as the text the setting's parser reads."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps([str(v) if isinstance(v, Path) else v for v in value])
    return str(value)


class Settings:
    """The values in force, read once and cached; ``source(name)`` says where each came from.

    ``host`` stands for a host project's ``settings.RUNS`` dict (tests); by default it is read
    through the reader runs' AppConfig sets once Django's settings are configured. Until then a
    value left at its default is not cached, so a ``RUNS`` dict read later still counts.
    """

    def __init__(
        self, environ: dict[str, str] | None = None, host: dict[str, Any] | None = None
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._host = host
        self._values: dict[str, Any] = {}
        self._sources: dict[str, str] = {}
        self._lock = threading.RLock()  # resolving one setting may first resolve RUNS_HOME
        self._profile: dict[str, str] | None = None

    @property
    def profile_path(self) -> Path:
        return self.RUNS_HOME / "profiles.toml"

    def _profile_values(self) -> dict[str, str]:
        if self._profile is None:
            self._profile = read_profile(self.profile_path) if "RUNS_HOME" in self._values else {}
        return self._profile

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in SETTINGS:
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._values:
                value, source = self._resolve(SETTINGS[name])
                if source == "default" and self._host is None and _host_reader is None:
                    return value
                self._values[name], self._sources[name] = value, source
        return self._values[name]

    def host_values(self) -> dict[str, Any]:
        """The host project's ``RUNS`` dict (empty when there is none); unknown keys refused."""
        values = _host_runs_dict() if self._host is None else self._host
        known = {host_key(n) for n in (*SETTINGS, *ALIASES)}
        for key in values:
            if key in known:
                continue
            hint = ""
            if isinstance(key, str) and host_key(key) in known:
                hint = f" (write {host_key(key)!r}: the keys have no RUNS_ prefix)"
            raise SettingError(
                f"settings.RUNS has an unknown key {key!r}{hint}. "
                f"Known keys: {', '.join(sorted(host_key(n) for n in SETTINGS))}."
            )
        return values

    def _resolve(self, setting: Setting) -> tuple[Any, str]:
        if setting.name != "RUNS_HOME":
            self.RUNS_HOME  # noqa: B018  (the profile lives under it)
        raw, source = None, "default"
        names = [setting.name, *(a for a, n in ALIASES.items() if n == setting.name)]
        profile = self._profile_values() if setting.name != "RUNS_HOME" else {}
        for name in names:
            if name in self._environ:
                raw, source = self._environ[name], "environment"
                break
        else:
            for name in names:
                if name in profile:
                    raw, source = profile[name], f"profile {self.profile_path}"
                    break
        if raw is None:
            host = self.host_values()
            for name in names:
                if host.get(host_key(name)) is not None:
                    raw, source = _as_text(host[host_key(name)]), DJANGO_SOURCE
                    break
        if raw is None:
            default = setting.default
            return (default(self) if callable(default) else default), source
        return parse_setting(setting.name, raw, source), source

    def source(self, name: str) -> str:
        getattr(self, name)
        return self._sources.get(name, "default")

    def environ(self, name: str, default: str | None = None) -> str | None:
        """A variable of the environment that is not a `runs` setting (DJANGO_SETTINGS_MODULE...)."""
        return self._environ.get(name, default)


#: Settings a run reads as it starts: a malformed one fails that run (recorded FAILED with the
#: error as its message) instead of stopping the process before anything is recorded.
CHECKED_BY_THE_RUN = frozenset({"RUNS_DEFAULT_TASK_RUNNER"})


def validate_all() -> None:
    """Read every setting now, so a malformed value fails early with a message naming it (except
    those in CHECKED_BY_THE_RUN, which fail the run that reads them)."""
    settings.host_values()
    for name in SETTINGS:
        if name not in CHECKED_BY_THE_RUN:
            getattr(settings, name)


def parse_setting(name: str, raw: str, source: str = "value") -> Any:
    """Parse ``raw`` for setting ``name``, or raise SettingError saying what to write instead."""
    setting = SETTINGS.get(ALIASES.get(name, name))
    if setting is None:
        known = ", ".join(sorted(SETTINGS))
        raise SettingError(f"Unknown setting {name!r}. Known settings: {known}.")
    try:
        return setting.parse(str(raw))
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise SettingError(
            f"{name}={raw!r} (from {source}) is not valid: {exc}. "
            f"Example of a valid value: {name}={setting.example}"
        ) from None


def read_profile(path: Path) -> dict[str, str]:
    """The settings of the active profile in ``path`` (empty when the file does not exist)."""
    if not path.exists():
        return {}
    data = _load_profile_file(path)
    active = data.get("active", "default")
    values = data.get("profiles", {}).get(active, {})
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def _load_profile_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(
            f"The profile file {path} is not valid TOML ({exc}); correct it, or "
            "delete it and set its values again with runs config set."
        ) from None


def write_profile_value(path: Path, name: str, value: str | None) -> None:
    """Set (or, with ``value=None``, remove) ``name`` in the active profile of ``path``."""
    import tomli_w

    from runs.private_files import private_dir, write_private

    data = _load_profile_file(path) if path.exists() else {}
    active = data.setdefault("active", "default")
    profile = data.setdefault("profiles", {}).setdefault(active, {})
    if value is None:
        profile.pop(name, None)
    else:
        profile[name] = value
    private_dir(path.parent)
    write_private(path, tomli_w.dumps(data).encode())


settings = Settings()


@contextmanager
def override(**values: Any) -> Iterator[Settings]:
    """Temporarily force setting values in this process (for tests and embedding)."""
    current = settings
    saved = {k: current._values.get(k, _MISSING) for k in values}
    for key, value in values.items():
        if key not in SETTINGS:
            raise SettingError(f"Unknown setting {key!r}")
        current._values[key] = value
        current._sources[key] = "override"
    try:
        yield current
    finally:
        for key, value in saved.items():
            if value is _MISSING:
                current._values.pop(key, None)
                current._sources.pop(key, None)
            else:
                current._values[key] = value


_MISSING = object()
