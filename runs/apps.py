from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runs import sqlite  # noqa: F401  (connects the WAL set-up to new connections)

        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="runs.ensure_roles")


def _ensure_roles(sender, using="default", **kwargs) -> None:
    """After every migrate: the Viewer, Operator and Admin groups hold what runs.roles lists."""
    from runs.roles import ensure_roles

    ensure_roles(using=using)
