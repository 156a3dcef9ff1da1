"""The permissions of the roles (runs.roles), and a role for every account made before them.

Until now any signed-in user could do everything. Users who are not superusers and in no
group become Viewers (least privilege); an Admin raises them with `runs user set-role`. The
groups get their permissions after the migration (runs.apps runs ensure_roles on post_migrate).
"""

from django.conf import settings
from django.db import migrations


def existing_users_become_viewers(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    viewer, _ = Group.objects.using(db).get_or_create(name="Viewer")
    users = User.objects.using(db).filter(is_superuser=False, groups__isnull=True)
    viewer.user_set.add(*users)


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0005_hashed_api_tokens"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="flowrun",
            options={
                "ordering": ["-created", "-id"],
                "permissions": [
                    ("view_history", "Can read flows, runs, logs, limits and the cache"),
                    (
                        "operate_flows",
                        "Can start, cancel and re-run flow runs and expire cache entries",
                    ),
                    ("manage_accounts", "Can manage users and API tokens"),
                ],
            },
        ),
        migrations.RunPython(existing_users_become_viewers, migrations.RunPython.noop),
    ]
