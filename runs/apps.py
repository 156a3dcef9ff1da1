from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runs import conf, sqlite  # noqa: F401  (sqlite: the WAL set-up of new connections)

        conf.read_host_settings_with(_host_runs_setting)
        from runs import results, signing

        results.sign_inline_results_with(signing.result_digest)

        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="runs.ensure_roles")


def _ensure_roles(sender, using="default", **kwargs) -> None:
    """After every migrate: the Viewer, Operator and Admin groups hold what runs.roles lists."""
    from runs.roles import ensure_roles

    ensure_roles(using=using)


def _host_runs_setting():
    """The ``RUNS`` dict of the project's settings (runs.conf reads it after the environment and
    the profile); None when it has none."""
    from django.conf import settings

    return getattr(settings, "RUNS", None)
