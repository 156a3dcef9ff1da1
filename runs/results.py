"""Result storage: return values pickled with cloudpickle under RUNS_LOCAL_STORAGE_PATH.

Writes go to a temporary file that is renamed into place, so a crash mid-write never leaves a
half file that a later cache hit would read. Files are owner-only (0600, the folder 0700): a
result can hold anything a run returned.

A result only handed from a worker to its caller (not cached, not asked to persist) that
pickles to at most INLINE_BYTES (a number, a short string, a small tuple) is kept in its key
instead, and so in the state's row, as Prefect 2 keeps literal results in the database: a
worker handing thousands of small results to its caller writes no file. The key is
signed with the project's secret key, so a row written by anything but `runs` is never
unpickled.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle

from runs import conf
from runs.private_files import private_dir, write_private


class ResultNotPersistable(TypeError):
    """A return value that cannot be pickled while persistence is on."""


class ResultMissing(LookupError):
    """The stored result a state points to is not there any more."""


class ResultNotTrusted(LookupError):
    """A result kept in a row whose signature is not this project's."""


#: Results that pickle to at most this many bytes are kept in their key (a row), not a file.
INLINE_BYTES = 100
INLINE_PREFIX = "inline:"
_SIGNATURE_BYTES = 16

_digest: Callable[[bytes], bytes] | None = None


def sign_inline_results_with(digest: Callable[[bytes], bytes]) -> None:
    """Keep small results in their keys, signed by ``digest`` (set up by the runs app)."""
    global _digest
    _digest = digest


def is_inline(key: str) -> bool:
    return key.startswith(INLINE_PREFIX)


def _inline_key(payload: bytes) -> str:
    signed = _digest(payload)[:_SIGNATURE_BYTES] + payload
    return INLINE_PREFIX + base64.urlsafe_b64encode(signed).decode("ascii").rstrip("=")


def _inline_payload(key: str) -> bytes:
    """The pickle inside an inline key; ResultNotTrusted if this project did not sign it."""
    text = key[len(INLINE_PREFIX) :]
    try:
        signed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        signed = b""
    signature, payload = signed[:_SIGNATURE_BYTES], signed[_SIGNATURE_BYTES:]
    if _digest is None or not hmac.compare_digest(signature, _digest(payload)[:_SIGNATURE_BYTES]):
        raise ResultNotTrusted(
            "A result kept in the database is not signed with this project's secret key; "
            "refusing to unpickle it. Callers and workers must share RUNS_SECRET_KEY (or "
            "RUNS_HOME)."
        )
    return payload


def storage_path() -> Path:
    return conf.settings.RUNS_LOCAL_STORAGE_PATH


def _path_for(key: str) -> Path:
    if not key or "/" in key or key.startswith(".") or is_inline(key):
        raise ValueError(f"Not a result key: {key!r}")
    return storage_path() / key


def persist_result(value: Any, durable: bool = True) -> str:
    """Store ``value`` and return its key; raise ResultNotPersistable naming the type.

    The write is atomic (a temporary file, then a rename), so no reader ever sees half a file.
    ``durable`` also syncs it to disk before the rename, so that it survives a power loss; a result
    only handed from a worker to the caller waiting for it can skip that, and is kept in its
    key when it is small.
    """
    try:
        payload = cloudpickle.dumps(value)
    except Exception as exc:
        raise ResultNotPersistable(
            f"The return value of type {type(value).__module__}.{type(value).__qualname__} "
            f"cannot be pickled ({exc}). Return a picklable value or set persist_result=False."
        ) from None
    if not durable and len(payload) <= INLINE_BYTES and _digest is not None:
        return _inline_key(payload)
    key = uuid.uuid4().hex
    folder = private_dir(storage_path())
    write_private(folder / key, payload, durable=durable)
    return key


def _trusted_payload(key: str) -> bytes | None:
    """The pickle inside an inline key, or None when this project did not sign it."""
    try:
        return _inline_payload(key)
    except ResultNotTrusted:
        return None


def result_exists(key: str) -> bool:
    if is_inline(key):
        return _trusted_payload(key) is not None
    return bool(key) and _path_for(key).exists()


def load_result(key: str) -> Any:
    """The value stored under ``key``; raise ResultMissing when the file has gone."""
    if is_inline(key):
        return cloudpickle.loads(_inline_payload(key))
    try:
        payload = _path_for(key).read_bytes()
    except FileNotFoundError:
        raise ResultMissing(f"The stored result {key} is missing from {storage_path()}.") from None
    return cloudpickle.loads(payload)


def result_size(key: str) -> int | None:
    if is_inline(key):
        payload = _trusted_payload(key)
        return None if payload is None else len(payload)
    try:
        return _path_for(key).stat().st_size
    except (FileNotFoundError, ValueError):
        return None


def delete_result(key: str) -> bool:
    try:
        _path_for(key).unlink()
        return True
    except (FileNotFoundError, ValueError):
        return False
