"""The Django project that hosts `runs`: settings, URLs, the Celery app, WSGI and ASGI."""
