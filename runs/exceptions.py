"""Exceptions users of the client and API catch."""

from __future__ import annotations


class ObjectNotFound(LookupError):
    """The object asked for (a concurrency limit by tag, a run by id) does not exist."""


class ClientError(RuntimeError):
    """The API refused a request; the message says why."""
