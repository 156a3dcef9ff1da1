"""Task-run log lines written before this release lack their flow run: give it to them.

A flow run's lines are read on ``(flow_run, timestamp)`` alone (``runs.selectors.logs_for``);
without this, lines stored earlier would vanish from their flow run's logs.
"""

from __future__ import annotations

from django.db import migrations
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    Log = apps.get_model("runs", "Log")
    TaskRun = apps.get_model("runs", "TaskRun")
    Log.objects.filter(flow_run__isnull=True, task_run__isnull=False).update(
        flow_run_id=Subquery(
            TaskRun.objects.filter(id=OuterRef("task_run_id")).values("flow_run_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [("runs", "0002_process_key")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
