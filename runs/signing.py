"""Signed cloudpickle payloads for Celery messages.

A payload is ``base64(hmac || pickle)`` with an HMAC-SHA256 keyed by a key derived from
SECRET_KEY; a worker refuses (and logs) any payload whose signature does not match before it
unpickles a single byte. Nothing that arrives over HTTP is ever passed here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import cloudpickle

_SALT = b"runs.signing.payload"
_RESULT_SALT = b"runs.signing.result"


class BadSignature(ValueError):
    """A payload not signed with this project's SECRET_KEY."""


def _key() -> bytes:
    from django.conf import settings

    return hashlib.sha256(_SALT + settings.SECRET_KEY.encode()).digest()


def result_digest(data: bytes) -> bytes:
    """The signature of a result kept in a database row (:mod:`runs.results`), keyed apart
    from the messages' so that neither can stand for the other."""
    key = hashlib.sha256(_RESULT_SALT + _django_secret().encode()).digest()
    return hmac.new(key, data, hashlib.sha256).digest()


def _django_secret() -> str:
    from django.conf import settings

    return settings.SECRET_KEY


def dumps(value: Any) -> str:
    """``value`` pickled and signed, as ASCII text for a JSON message."""
    payload = cloudpickle.dumps(value)
    digest = hmac.new(_key(), payload, hashlib.sha256).digest()
    return base64.b64encode(digest + payload).decode("ascii")


def loads(text: str) -> Any:
    """The value of a payload made by :func:`dumps`; BadSignature if it was not signed here."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError, AttributeError):
        raise BadSignature("The payload is not valid base64.") from None
    digest, payload = raw[:32], raw[32:]
    expected = hmac.new(_key(), payload, hashlib.sha256).digest()
    if len(digest) != 32 or not hmac.compare_digest(digest, expected):
        raise BadSignature(
            "The payload's signature does not match this project's SECRET_KEY; refusing to "
            "unpickle it. Workers and callers must share RUNS_SECRET_KEY (or RUNS_HOME)."
        )
    return cloudpickle.loads(payload)
