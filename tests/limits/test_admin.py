"""The limits admin lists limits and shows the runs holding and waiting for their slots."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from runs_limits.models import ConcurrencyLimit


def test_admin_lists_changes_and_deletes_through_the_services():
    user = get_user_model().objects.create_superuser(username=f"admin-{uuid.uuid4().hex[:6]}")
    client = Client()
    client.force_login(user)
    tag = f"adm-{uuid.uuid4().hex[:6]}"
    with override_settings(ROOT_URLCONF="runs_project.urls", ALLOWED_HOSTS=["*"]):
        added = client.post(
            "/admin/limits/concurrencylimit/add/",
            {
                "tag": tag,
                "concurrency_limit": "2",
                "slots-TOTAL_FORMS": "0",
                "slots-INITIAL_FORMS": "0",
                "waiters-TOTAL_FORMS": "0",
                "waiters-INITIAL_FORMS": "0",
            },
        )
        assert added.status_code == 302, added.content[:2000]
        limit = ConcurrencyLimit.objects.get(tag=tag)
        listing = client.get("/admin/limits/concurrencylimit/")
        assert listing.status_code == 200 and tag in listing.content.decode()
        page = client.get(f"/admin/limits/concurrencylimit/{limit.pk}/change/")
        assert page.status_code == 200
        client.post(f"/admin/limits/concurrencylimit/{limit.pk}/delete/", {"post": "yes"})
    assert not ConcurrencyLimit.objects.filter(tag=tag).exists()
