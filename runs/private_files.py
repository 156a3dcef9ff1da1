"""Files only their owner can use: folders 0700, files 0600, whatever the process umask.

What `runs` keeps under RUNS_HOME (the database, stored results, the profile, the embedded
broker's messages, the secret key, the admin password) belongs to the account that runs it.
New files get their mode from ``os.open`` as they are created, so there is no moment at which
another local user could open them; :func:`make_private` takes group and other permissions off
what an older version left open.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_GROUP_AND_OTHER = 0o077


def private_dir(path: Path) -> Path:
    """Create the folder ``path`` (and missing parents) owner-only; an existing one is kept as is."""
    try:
        os.mkdir(path, PRIVATE_DIR)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    except FileNotFoundError:
        private_dir(Path(path).parent)
        try:
            os.mkdir(path, PRIVATE_DIR)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
    return Path(path)


def open_private(path: Path, flags: int = os.O_WRONLY) -> int:
    """Open ``path`` with ``flags``, creating it owner-only if missing; the file descriptor."""
    return os.open(path, flags | os.O_CREAT, PRIVATE_FILE)


def create_private(path: Path, flags: int = os.O_WRONLY) -> int:
    """Create ``path`` owner-only, failing with FileExistsError if it exists; the descriptor."""
    return os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)


def write_private(path: Path, data: bytes, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically: a new owner-only file, renamed into place.

    ``durable`` syncs the data to disk before the rename.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = create_private(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class ModeChange:
    """A file or folder whose group and other permissions were taken off."""

    path: Path
    before: int
    after: int


@dataclass
class Privatized:
    """What :func:`make_private` changed, and what it could not change (with the reason)."""

    changed: list[ModeChange]
    failed: list[str]

    def __iadd__(self, other: Privatized) -> Privatized:
        self.changed += other.changed
        self.failed += other.failed
        return self


def make_private(
    path: Path, look_inside: bool = False, only: Callable[[str], bool] | None = None
) -> Privatized:
    """Take group and other permissions off ``path`` and what is under it.

    The contents of a folder are looked at only when the folder itself was open to others (as
    versions before this one left them) or, for ``path`` itself, with ``look_inside``: inside
    a private folder no other user reaches a file, whatever its mode, and a large store of
    results is not walked on every start. ``only`` limits the entries of ``path`` itself that
    are looked at to the names it accepts (what `runs` wrote there; not what a user keeps
    beside it). Symbolic links are left alone, never followed, and so is a shared folder such
    as /tmp (sticky bit), but not its entries.
    """
    result = Privatized([], [])
    pending = [(Path(path), look_inside, only)]
    while pending:
        current, inside, accept = pending.pop()
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            continue
        except OSError as exc:
            result.failed.append(f"{current}: {exc.strerror}")
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        mode = stat.S_IMODE(st.st_mode)
        shared = stat.S_ISDIR(st.st_mode) and bool(mode & stat.S_ISVTX)
        was_open = bool(mode & _GROUP_AND_OTHER)
        if was_open and not shared:
            try:
                os.chmod(current, mode & ~_GROUP_AND_OTHER)
            except OSError as exc:
                result.failed.append(f"{current}: {exc.strerror}")
                continue
            result.changed.append(ModeChange(current, mode, mode & ~_GROUP_AND_OTHER))
        if stat.S_ISDIR(st.st_mode) and (was_open or inside):
            try:
                with os.scandir(current) as entries:
                    pending.extend(
                        (Path(entry.path), False, None)
                        for entry in entries
                        if accept is None or accept(entry.name)
                    )
            except OSError as exc:
                result.failed.append(f"{current}: {exc.strerror}")
    return result


def describe(result: Privatized, home: Path, shown: int = 8) -> str:
    """One line saying what :func:`make_private` changed (paths under ``home`` relative to it),
    outermost first."""

    def name(path: Path) -> str:
        try:
            relative = path.relative_to(home)
        except ValueError:
            return str(path)
        return "RUNS_HOME" if relative == Path(".") else str(relative)

    parts = []
    if result.changed:
        changed = sorted(result.changed, key=lambda c: (len(c.path.parts), c.path))
        items = [f"{name(c.path)} {c.before:04o}->{c.after:04o}" for c in changed]
        more = len(items) - shown
        listed = ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")
        parts.append(
            f"Made {len(items)} file(s) and folder(s) owner-only that other local users could "
            f"read ({home}): {listed}."
        )
    if result.failed:
        parts.append(
            "Could not make these owner-only (change their owner or mode yourself): "
            + "; ".join(result.failed[:shown])
            + (f" and {len(result.failed) - shown} more" if len(result.failed) > shown else "")
            + "."
        )
    return " ".join(parts)
