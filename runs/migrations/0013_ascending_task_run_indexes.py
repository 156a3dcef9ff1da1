# Issue 18, compact history: the task run lists' indexes ascending (read backwards for newest
# first), and task_key's own index dropped (every query of it is of one flow run, served by
# taskrun_flowrun_rows / taskrun_timeline, or of cached states, served by state_cache_key).

from django.db import migrations, models


def _task_key_indexes(schema_editor):
    """The names Django gave task_key's index (and, on PostgreSQL, its LIKE index)."""
    table = "runs_taskrun"
    name = schema_editor._create_index_name(table, ["task_key"], suffix="")
    return table, [name, schema_editor._create_index_name(table, ["task_key"], suffix="_like")]


def drop_task_key_index(apps, schema_editor):
    _, names = _task_key_indexes(schema_editor)
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_task_key_index(apps, schema_editor):
    table, names = _task_key_indexes(schema_editor)
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(names[0])} ON {quote(table)} ({quote('task_key')})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0012_parked_task_runs"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="taskrun", name="taskrun_created"),
        migrations.RemoveIndex(model_name="taskrun", name="taskrun_state_created"),
        migrations.RemoveIndex(model_name="taskrun", name="taskrun_statename_created"),
        migrations.RemoveIndex(model_name="taskrun", name="taskrun_task_created"),
        # Only the index is dropped: AlterField on SQLite would copy the whole table.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="taskrun",
                    name="task_key",
                    field=models.CharField(max_length=64),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_task_key_index, create_task_key_index),
            ],
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(fields=["created", "id"], name="taskrun_created_asc"),
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(fields=["state_type", "created"], name="taskrun_state_created_asc"),
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(
                fields=["state_name", "created"], name="taskrun_statename_created_asc"
            ),
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(fields=["task_name", "created"], name="taskrun_task_created_asc"),
        ),
    ]
