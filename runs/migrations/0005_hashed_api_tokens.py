"""API tokens made before knox keep working, stored as digests from now on.

Every DRF authtoken row (its key in plain text) becomes a knox token whose digest is that of
the same key, with no expiry and the same creation time; then the plaintext rows are deleted.
Going backwards restores nothing: the keys are gone from the database, as intended.
"""

from django.db import migrations
from knox.crypto import hash_token
from knox.settings import CONSTANTS


def hash_plaintext_tokens(apps, schema_editor):
    """Turn each plaintext DRF token into a knox token with the same key, then delete it."""
    Token = apps.get_model("authtoken", "Token")
    AuthToken = apps.get_model("knox", "AuthToken")
    for old in Token.objects.all():
        digest = hash_token(old.key)
        AuthToken.objects.get_or_create(
            digest=digest,
            defaults={"token_key": old.key[: CONSTANTS.TOKEN_KEY_LENGTH], "user_id": old.user_id},
        )
        # `created` is auto_now_add: set after the insert to keep the token's real age.
        AuthToken.objects.filter(digest=digest).update(created=old.created, expiry=None)
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0004_run_version"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(hash_plaintext_tokens, migrations.RunPython.noop, elidable=False),
    ]
