"""The Celery app of the project: configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery
from celery.fixups.django import DjangoWorkerFixup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "runs_project.settings")

app = Celery("runs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # A pool process killed mid-run: its message is delivered again after this, not 10 s
    # (runs keeps no Celery results to wait for).
    worker_lost_wait=1.0,
)
app.autodiscover_tasks(["runs"], related_name="worker")


def _own_broker_unless_the_host_has_one() -> None:
    """In a host project that sets no CELERY_BROKER_URL, runs' filesystem broker under
    RUNS_HOME (or RUNS' CELERY_BROKER_URL): its web processes and workers then agree."""
    from django.conf import settings

    if not settings.configured or getattr(settings, "CELERY_BROKER_URL", None):
        return
    from runs import conf
    from runs.broker import celery_broker_settings

    chosen = celery_broker_settings(
        conf.settings.CELERY_BROKER_URL or "filesystem://", conf.settings.RUNS_HOME
    )
    app.conf.update({key.removeprefix("CELERY_").lower(): value for key, value in chosen.items()})


_own_broker_unless_the_host_has_one()


def _close_old_connections(fixup, **_: object) -> None:
    """Close only broken or expired connections around each task, as Django does per request.

    Celery's Django fix-up closes every database connection before and after each task, so a
    worker would connect twice per task run; CONN_MAX_AGE already bounds how long one lives.
    """
    from django.db import close_old_connections

    close_old_connections()


DjangoWorkerFixup.close_database = _close_old_connections
