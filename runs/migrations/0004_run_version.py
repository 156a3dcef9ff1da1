"""Flow runs and task runs record the ``version=`` of the flow or task that made them."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("runs", "0003_log_flow_run")]

    operations = [
        migrations.AddField(
            model_name="flowrun",
            name="version",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="taskrun",
            name="version",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
    ]
