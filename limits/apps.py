from django.apps import AppConfig


class LimitsConfig(AppConfig):
    # Installed as ``runs_limits`` (no clash with PyPI's ``limits``); the label stays
    # ``limits``: its migrations, tables and permission names keep their names.
    name = "runs_limits"
    label = "limits"
    default_auto_field = "django.db.models.BigAutoField"
