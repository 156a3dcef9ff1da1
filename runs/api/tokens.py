"""``Authorization: Token KEY``: django-rest-knox's hashed tokens, with a clear 401 when expired.

Knox deletes an expired token when it is next used and answers "Invalid token.", so a script's
owner cannot tell a typo from an expiry. Here an expired token stays listed (``runs token ls``
shows it as expired, ``runs token revoke`` removes it) and each use gets a 401 saying when it
expired and how to get a new one. A header that is not UTF-8 is an invalid token, not a 500.
"""

from __future__ import annotations

import binascii
from datetime import UTC
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework.exceptions import AuthenticationFailed

INVALID = (
    "Invalid token: no token has this key (revoked, mistyped, or never made). "
    "Get one with `runs token create USERNAME`."
)


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox's token check, telling an expired token apart from an unknown one."""

    def authenticate_credentials(self, token: bytes):  # noqa: D102
        try:
            key = token.decode("utf-8")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise AuthenticationFailed(INVALID) from None
        candidates = (
            get_token_model()
            .objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
        )
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
                    raise AuthenticationFailed(_expired(auth_token))
                return self.validate_user(auth_token)
        raise AuthenticationFailed(INVALID)


def _expired(auth_token) -> str:
    when = auth_token.expiry.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"This token (prefix {auth_token.token_key}) expired at {when}. Ask an admin for a new "
        f"one: `runs token create {auth_token.user.get_username()} --expires 90d`."
    )


class TokenScheme(KnoxTokenScheme):
    """The schema's description of :class:`TokenAuthentication` (knox's, by subclass)."""

    target_class = "runs.api.tokens.TokenAuthentication"
