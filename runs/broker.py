"""The embedded broker: kombu's filesystem transport, with files that appear whole.

Kombu writes its files in place, and a reader in another process can come in between:

- A message file is created, then written. A worker that claims it in between reads an empty
  message and stops with "Unrecoverable error: JSONDecodeError", leaving the run it carried
  unsent.
- An exchange's table (which queues it routes to, in the control folder) is created, then
  locked, then written. A producer that reads it in between fails its publish with the same
  error; two processes that bind at once can each create it, and one binding is lost.

Here every file is written under a name nobody reads (``.part``) and then renamed into place,
which is atomic on one file system, so a reader sees the old file or the new one. Changes to an
exchange table are made under an exclusive lock on a file of their own (``.lock``), so two
binders (or a binder and an unbinder) take turns and neither loses the other's change.

Messages carry the arguments of runs, so every file is created owner-only (0600), whatever the
umask.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.transport.filesystem import LOCK_EX, exchange_queue_t, lock, unlock
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

from runs.private_files import create_private, open_private, private_dir

Table = list[exchange_queue_t]


def _write_whole(path: str, payload) -> None:
    """Write ``payload`` as JSON to ``path`` so that no reader ever sees it part-written."""
    partial = f"{path}.{uuid.uuid4().hex}.part"
    try:
        with os.fdopen(create_private(partial), "wb", buffering=0) as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


class Channel(filesystem.Channel):
    """A filesystem channel whose messages and exchange tables are renamed into place."""

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        try:
            _write_whole(final, payload)  # "<name>.msg.<hex>.part" matches no queue's name
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        entry = exchange_queue_t(routing_key or "", pattern or "", queue or "")

        def add(queues: Table) -> Table | None:
            return None if entry in queues else [entry, *queues]

        self._edit_table(exchange, add)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue)  # purges the queue's messages
        entry = exchange_queue_t(routing_key or "", pattern or "", queue or "")

        def remove(queues: Table) -> Table | None:
            return [q for q in queues if q != entry] if entry in queues else None

        self._edit_table(exchange, remove)

    def _edit_table(self, exchange, change: Callable[[Table], Table | None]) -> None:
        """Apply ``change`` to the exchange's table, one process at a time.

        ``change`` gets the current table and returns the new one, or None to leave it be.
        """
        file = self._exchange_file(exchange)
        try:
            private_dir(self.control_folder)
            with os.fdopen(open_private(f"{file}.lock", os.O_APPEND | os.O_WRONLY), "ab") as guard:
                lock(guard, LOCK_EX)
                try:
                    changed = change(self.get_table(exchange))
                    if changed is not None:
                        _write_whole(str(file), changed)
                finally:
                    unlock(guard)
        except OSError as exc:
            raise ChannelError(f"Cannot update {file}") from exc


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel


def celery_broker_settings(broker_url: str, runs_home: Any) -> dict[str, Any]:
    """The ``CELERY_*`` settings for ``broker_url``: for the filesystem broker (``filesystem://``,
    the default of a self-configured runs, and of a host project that sets no broker), its
    folders under ``runs_home`` (made private) and this module's transport; for a server
    broker, the visibility timeout."""
    from pathlib import Path

    from runs.private_files import private_dir

    if not broker_url.startswith("filesystem://"):
        return {
            "CELERY_BROKER_URL": broker_url,
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 3600},
        }
    broker_dir = Path(runs_home) / "broker"
    for sub in ("queue", "processed", "control"):
        private_dir(broker_dir / sub)
    return {
        "CELERY_BROKER_URL": broker_url,
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
            # A worker claims a message by renaming it into processed/: atomic only within one
            # file system, so keep it beside the queue rather than in /tmp. Workers delete
            # claimed files after a minute (runs.worker).
            "store_processed": True,
            "polling_interval": 0.05,  # seconds between looks at the queue folder (default 1)
        },
        # kombu's filesystem transport, writing each message whole before it is visible.
        "CELERY_BROKER_TRANSPORT": "runs.broker:Transport",
        # The filesystem transport has no fanout exchange for remote control.
        "CELERY_WORKER_ENABLE_REMOTE_CONTROL": False,
    }
