"""The admin site's view of API tokens: list and revoke, never create.

A key must be shown once and never stored in plain text. DRF's own token admin would still
create plaintext keys, and knox's "add" form shows the new key through Django messages (kept in
a signed, readable cookie), so both are replaced: tokens are made with `runs token create`.
"""

from __future__ import annotations

from django.contrib import admin
from knox.models import AuthToken
from rest_framework.authtoken.models import TokenProxy

for model in (TokenProxy, AuthToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens by user, with the first characters of each key; revoke by deleting."""

    list_display = ("token_key", "user", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("token_key", "user__username")
    readonly_fields = ("token_key", "user", "created", "expiry")
    exclude = ("digest",)

    def has_add_permission(self, request) -> bool:  # noqa: D102
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: D102
        return False
