"""The Django project that hosts `runs`: settings, URLs, the Celery app, WSGI and ASGI."""

from runs_project.celery import app as celery_app

__all__ = ["celery_app"]
