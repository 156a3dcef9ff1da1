"""ASGI entry point (uvicorn runs_project.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "runs_project.settings")
application = get_asgi_application()
