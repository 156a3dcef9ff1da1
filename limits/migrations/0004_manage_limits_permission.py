"""The permission to create, change and delete concurrency limits (the Admin role's)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("limits", "0003_take_free_slots_notify_only_waiters"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="concurrencylimit",
            options={
                "ordering": ["tag"],
                "permissions": [
                    ("manage_limits", "Can create, change and delete concurrency limits")
                ],
            },
        ),
    ]
