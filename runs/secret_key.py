"""The secret key of an installation without RUNS_SECRET_KEY: generated once, owner-only.

The key signs sessions and the payloads workers unpickle, so no other local user may read it,
not even while it is being created. It is written to a new file created with mode 0600
(``O_CREAT | O_EXCL``, whatever the umask) and then linked to its name, so the key file
appears whole: a process starting at the same moment reads either no file or the full key.
When two processes create a key together, the first link wins and the other reads its key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from runs.private_files import create_private


class SecretKeyError(RuntimeError):
    """The key file is there but holds no key."""


def read_or_create_secret_key(path: Path) -> str:
    """The key kept in ``path``, generating it (owner-only) if the file does not exist."""
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = create_private(tmp)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path)  # another process created it first: its key is the key
    finally:
        tmp.unlink(missing_ok=True)
    return key


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise SecretKeyError(
            f"The secret key file {path} is empty. Delete it to have a new key generated "
            "(everyone signed in will have to sign in again, and messages queued for workers "
            "under the old key are refused), or set RUNS_SECRET_KEY."
        )
    return key
