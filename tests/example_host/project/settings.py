"""The shop's settings: a plain Django site with runs added (see README.md of runs)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "shop-example-secret-key-not-for-production-0123456789abcdef"
DEBUG = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # runs and what it needs
    "rest_framework",
    "rest_framework.authtoken",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "runs",
    "runs_limits",
    # the shop's own
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# SQLite next to manage.py, or the database DATABASE_URL names.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'shop.sqlite3'}", conn_max_age=0
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
LOGIN_URL = "/admin/login/"

# runs' settings: the names `runs config view` lists, without the RUNS_ prefix.
RUNS = {
    "HOME": str(BASE_DIR / "runs-home"),
    "FLOW_MODULES": ["shop.flows"],
    "TASK_DEFAULT_RETRIES": 1,
}

# Celery: the shop's broker (Redis), which runs' worker and the runs started here use too;
# without one, runs' worker uses a broker of its own.
if os.environ.get("SHOP_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["SHOP_BROKER_URL"]

# Django's Tasks framework (the django-tasks backport): tasks run on runs' workers.
TASKS = {
    "default": {
        "BACKEND": "runs.django_tasks.RunsBackend",
        "OPTIONS": {"retries": 1, "retry_delay_seconds": 0},
    }
}
