"""API tokens of users: made by ``runs token create USERNAME``, listed, revoked.

Tokens are django-rest-knox tokens: the database keeps only a SHA-512 digest of each key and
the key's first characters (its prefix, to tell tokens apart), so the key itself is shown once,
when it is made. A user may have several tokens, each with its own expiry or none. A script
sends ``Authorization: Token KEY``; a revoked key gets 401, an expired one a 401 saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.utils import timezone
from knox.models import get_token_model
from knox.settings import CONSTANTS

#: A prefix shorter than this could match the wrong token by accident.
MIN_PREFIX_LENGTH = 6


class TokenError(ValueError):
    """A token that cannot be made or removed as asked; the message says what to do."""


class NewToken(NamedTuple):
    """A token just made: ``key`` is shown this once and stored nowhere."""

    key: str
    prefix: str
    expiry: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    """What is known of a stored token (never its key)."""

    username: str
    prefix: str
    created: datetime
    expiry: datetime | None

    @property
    def expired(self) -> bool:
        """Whether the token has expired (a token without expiry never does)."""
        return self.expiry is not None and self.expiry <= timezone.now()


def _user(username: str):
    username = (username or "").strip()
    if not username:
        raise TokenError("Give the username whose token to manage.")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TokenError(
            f"No user is named {username!r}; making a token creates no user. Create one "
            f"first: `runs user create {username} --role viewer|operator|admin` (or in "
            "/admin/), then run this again."
        )
    if not user.is_active:
        raise TokenError(f"The user {username!r} is inactive; activate it in /admin/ first.")
    return user


def create_token(*, username: str, expires: timedelta | None = None) -> NewToken:
    """Make a new token for an existing, active user; ``expires`` after now, or never (None).

    The user's other tokens stay valid.
    """
    if expires is not None and expires <= timedelta(0):
        raise TokenError("A token's lifetime must be positive, e.g. 90 days; or give none.")
    row, key = get_token_model().objects.create(user=_user(username), expiry=expires)
    return NewToken(key=key, prefix=row.token_key, expiry=row.expiry)


def list_tokens(username: str | None = None) -> list[TokenInfo]:
    """Every stored token (or one user's), by user name then oldest first."""
    rows = get_token_model().objects.select_related("user")
    if username is not None:
        rows = rows.filter(user=_existing_user(username))
    return [
        TokenInfo(
            username=row.user.get_username(),
            prefix=row.token_key,
            created=row.created,
            expiry=row.expiry,
        )
        for row in rows.order_by("user__username", "created")
    ]


def revoke_token(*, prefix: str | None = None, username: str | None = None) -> int:
    """Delete the one token whose prefix starts with ``prefix``, or every token of ``username``.

    Returns how many tokens were deleted (0 when the user had none). Exactly one of the two
    must be given.
    """
    if (prefix is None) == (username is None):
        raise TokenError("Give either a token's prefix or a user name (all their tokens).")
    rows = get_token_model().objects.all()
    if username is not None:
        deleted, _ = rows.filter(user=_existing_user(username)).delete()
        return deleted
    return _revoke_by_prefix(rows, prefix.strip())


def expire_token(prefix: str, at: datetime) -> None:
    """Set when the token with this exact prefix expires (``runs token`` has no such command;
    it is for tests and admin scripts that shorten a token's life)."""
    updated = get_token_model().objects.filter(token_key=prefix).update(expiry=at)
    if not updated:
        raise TokenError(f"No token has the prefix {prefix!r}; `runs token ls` lists them.")


def _revoke_by_prefix(rows, prefix: str) -> int:
    if len(prefix) < MIN_PREFIX_LENGTH:
        raise TokenError(
            f"Give at least {MIN_PREFIX_LENGTH} characters of the token's prefix "
            "(`runs token ls` shows them), or the whole key."
        )
    # A whole key also works: the stored prefix is its first characters.
    matches = list(rows.filter(token_key__startswith=prefix[: CONSTANTS.TOKEN_KEY_LENGTH]))
    if not matches:
        raise TokenError(f"No token has the prefix {prefix!r}; `runs token ls` lists them.")
    if len(matches) > 1:
        raise TokenError(
            f"{len(matches)} tokens start with {prefix!r}; give more characters of the prefix "
            "`runs token ls` shows."
        )
    matches[0].delete()
    return 1


def _existing_user(username: str):
    """The user of this name, active or not (listing and revoking also work for inactive ones)."""
    username = (username or "").strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TokenError(f"No user is named {username!r}; `runs token ls` lists tokens by user.")
    return user
