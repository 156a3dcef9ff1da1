"""The admin site lists and revokes API tokens but never makes one (a key is shown once, by
`runs token create`, and never stored or sent back in plain text)."""

from __future__ import annotations

from django.test import Client
from knox.models import AuthToken

from runs.services.tokens import create_token, list_tokens
from tests.runs.views.conftest import make_user


def _admin() -> Client:
    client = Client()
    client.force_login(make_user("admin"))
    return client


def test_tokens_are_listed_by_prefix_and_can_be_revoked_but_not_added():
    owner = make_user("viewer")
    made = create_token(username=owner.username)
    client = _admin()

    listing = client.get("/admin/knox/authtoken/")
    add = client.get("/admin/knox/authtoken/add/")

    page = listing.content.decode()
    assert listing.status_code == 200
    assert made.prefix in page and made.key not in page
    assert "/admin/knox/authtoken/add/" not in page
    assert add.status_code == 403

    digest = AuthToken.objects.get(token_key=made.prefix).pk  # the key's hash, not the key
    client.post(
        "/admin/knox/authtoken/",
        {"action": "delete_selected", "_selected_action": [digest], "post": "yes"},
    )
    assert not [t for t in list_tokens(username=owner.username) if t.prefix == made.prefix]


def test_drf_plaintext_tokens_are_not_in_the_admin():
    response = _admin().get("/admin/authtoken/tokenproxy/add/")

    assert response.status_code == 404
