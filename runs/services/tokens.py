"""API tokens of users: created by ``runs token create USERNAME``, removed by ``revoke``.

Tokens are DRF authtoken keys; a script sends ``Authorization: Token KEY``. A user has at most
one token; revoking it makes every script using it get 401.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token


class TokenError(ValueError):
    """A token that cannot be made or removed as asked; the message says what to do."""


def _user(username: str):
    username = (username or "").strip()
    if not username:
        raise TokenError("Give the username whose token to manage.")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TokenError(
            f"No user is named {username!r}. Create one first, e.g. "
            f"`python3 manage.py createsuperuser --username {username}` (or in /admin/), "
            "then run this again."
        )
    if not user.is_active:
        raise TokenError(f"The user {username!r} is inactive; activate it in /admin/ first.")
    return user


def create_token(*, username: str) -> tuple[str, bool]:
    """The user's token key and whether it was made now (False: the user already had one)."""
    token, created = Token.objects.get_or_create(user=_user(username))
    return token.key, created


def revoke_token(*, username: str) -> bool:
    """Delete the user's token; False when the user had none."""
    deleted, _ = Token.objects.filter(user=_user(username)).delete()
    return bool(deleted)
