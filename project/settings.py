"""Django settings, every value taken from the environment through ``runs.conf``."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from runs import conf
from runs.broker import celery_broker_settings
from runs.log_config import logging_config
from runs.private_files import open_private, private_dir

BASE_DIR = Path(__file__).resolve().parent.parent
# The checkout's templates/ and static/ (an editable install); an installed wheel carries them
# inside the runs package, where the app directories' loader and finder look.
_CHECKOUT_TEMPLATES = BASE_DIR / "templates"
_CHECKOUT_STATIC = BASE_DIR / "static"
_IN_CHECKOUT = (_CHECKOUT_TEMPLATES / "runs/base.html").is_file()
RUNS_HOME: Path = conf.settings.RUNS_HOME
private_dir(RUNS_HOME)


def _secret_key() -> str:
    """The configured key, else one generated once and kept under RUNS_HOME (owner-only)."""
    from runs.secret_key import read_or_create_secret_key

    if conf.settings.RUNS_SECRET_KEY:
        return conf.settings.RUNS_SECRET_KEY
    return read_or_create_secret_key(RUNS_HOME / "secret_key")


SECRET_KEY = _secret_key()
DEBUG = conf.settings.RUNS_DEBUG
ALLOWED_HOSTS = conf.settings.RUNS_ALLOWED_HOSTS
CSRF_TRUSTED_ORIGINS = conf.settings.RUNS_CSRF_TRUSTED_ORIGINS
if conf.settings.RUNS_BEHIND_TLS_PROXY:
    # The proxy ends TLS and says so; cookies go over HTTPS only, and browsers are told to
    # come back over HTTPS for a day.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 86400
    # HSTS for subdomains and the browsers' preload list commit the whole domain, not this
    # site: the domain's owner decides them.
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Only for the data migration that turns older plaintext tokens into hashed ones.
    "rest_framework.authtoken",
    "knox",  # API tokens, stored as digests
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "runs",
    "runs_limits",
]

MIDDLEWARE = [
    "runs.api.middleware.JsonApiErrors",  # first: it sees every error of an /api/ request
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, by any WSGI server
    "runs.admission.AdmitOrShed",  # a few requests at once per process; others a quick 503
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# Sign-in throttling (django-axes): after RUNS_LOGIN_FAILURE_LIMIT failures for one user name
# from one address, that pair is locked out for 15 minutes (a 429 page saying so).
AUTHENTICATION_BACKENDS = [
    "runs.auth_backends.SignInThrottle",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = conf.settings.RUNS_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "runs/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "runs_project.urls"
WSGI_APPLICATION = "runs_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [_CHECKOUT_TEMPLATES] if _IN_CHECKOUT else [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = conf.settings.DATABASE_URL or f"sqlite:///{RUNS_HOME / 'runs.sqlite3'}"
    # Persistent connections: a worker runs many short task runs, and connecting costs more.
    db = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL (set by runs.sqlite on each new connection) lets readers run beside the one
        # writer; IMMEDIATE takes the write lock when a transaction starts, so two processes
        # never deadlock upgrading a read lock.
        db["OPTIONS"] = {
            "init_command": (
                "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=60000; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 60,
        }
        name = str(db["NAME"])
        if name and name != ":memory:" and not name.startswith("file:"):
            private_dir(Path(name).parent)
            try:  # owner-only before SQLite creates it (its -wal and -shm take its mode)
                os.close(open_private(Path(name)))
            except OSError:
                pass  # Django's connection says what is wrong with the path
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [_CHECKOUT_STATIC] if (_CHECKOUT_STATIC / "runs").is_dir() else []
STATIC_ROOT = private_dir(RUNS_HOME / "static")  # WhiteNoise looks here too: let it exist
# WhiteNoise serves the apps' static files where they are: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "runs:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "runs:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "runs.api.tokens.TokenAuthentication",  # knox's, `Authorization: Token KEY`
        "rest_framework.authentication.SessionAuthentication",
        # Only requests made by runs.client inside this process carry its mark.
        "runs.api.auth.InProcessAuthentication",
    ],
    # Signed in, and the role's permission: reading needs Viewer, writing what the view names.
    "DEFAULT_PERMISSION_CLASSES": ["runs.api.permissions.HasRolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "runs.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Each token has its own expiry, set when it is made (`runs token create NAME --expires 90d`),
# or none; using a token never extends it.
REST_KNOX = {"TOKEN_TTL": None, "AUTO_REFRESH": False}
SPECTACULAR_SETTINGS = {
    "TITLE": "runs API",
    "DESCRIPTION": "Flow runs, task runs, states, logs and concurrency limits.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "runs.api.schema.add_error_responses",
    ],
    # The in-process client's trust is not something an API user can use: leave it out.
    "AUTHENTICATION_WHITELIST": [
        "runs.api.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# The filesystem broker under RUNS_HOME unless CELERY_BROKER_URL names a server.
globals().update(
    celery_broker_settings(conf.settings.CELERY_BROKER_URL or "filesystem://", RUNS_HOME)
)

# runs' lines on stderr; server errors with their traceback also in $RUNS_HOME/logs/runs.log.
LOGGING = logging_config(RUNS_HOME)
