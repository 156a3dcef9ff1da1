"""Result storage: return values pickled with cloudpickle under RUNS_LOCAL_STORAGE_PATH.

Writes go to a temporary file that is renamed into place, so a crash mid-write never leaves a
half file that a later cache hit would read. Files are owner-only (0600, the folder 0700): a
result can hold anything a run returned.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import cloudpickle

from runs import conf
from runs.private_files import private_dir, write_private


class ResultNotPersistable(TypeError):
    """A return value that cannot be pickled while persistence is on."""


class ResultMissing(LookupError):
    """The stored result a state points to is not there any more."""


def storage_path() -> Path:
    return conf.settings.RUNS_LOCAL_STORAGE_PATH


def _path_for(key: str) -> Path:
    if not key or "/" in key or key.startswith("."):
        raise ValueError(f"Not a result key: {key!r}")
    return storage_path() / key


def persist_result(value: Any, durable: bool = True) -> str:
    """Store ``value`` and return its key; raise ResultNotPersistable naming the type.

    The write is atomic (a temporary file, then a rename), so no reader ever sees half a file.
    ``durable`` also syncs it to disk before the rename, so that it survives a power loss; a result
    only handed from a worker to the caller waiting for it can skip that.
    """
    try:
        payload = cloudpickle.dumps(value)
    except Exception as exc:
        raise ResultNotPersistable(
            f"The return value of type {type(value).__module__}.{type(value).__qualname__} "
            f"cannot be pickled ({exc}). Return a picklable value or set persist_result=False."
        ) from None
    key = uuid.uuid4().hex
    folder = private_dir(storage_path())
    write_private(folder / key, payload, durable=durable)
    return key


def result_exists(key: str) -> bool:
    return bool(key) and _path_for(key).exists()


def load_result(key: str) -> Any:
    """The value stored under ``key``; raise ResultMissing when the file has gone."""
    try:
        payload = _path_for(key).read_bytes()
    except FileNotFoundError:
        raise ResultMissing(f"The stored result {key} is missing from {storage_path()}.") from None
    return cloudpickle.loads(payload)


def result_size(key: str) -> int | None:
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
