"""Slots in SQLite (and any database but PostgreSQL): one writer at a time does it all.

The transaction is ``IMMEDIATE`` (the project's database settings): it holds the database's
single write lock from its first statement, so two acquirers (threads or processes) can never
both count the same free slot. Counting and deciding are then plain statements, and no limit
needs a lock of its own. The orchestration runs these transactions in turn with its own writer
(``writer.serialized``), because waiting for the lock inside SQLite's busy handler costs
milliseconds. Nothing wakes the waiters of other processes: they poll.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from runs_limits.slots.decisions import UNLIMITED, SlotDecision
from runs_limits.slots.store import SlotStore


class SqliteStore(SlotStore):
    """Slots decided under the database's write lock; waiters of other processes poll."""

    vendor = "sqlite"

    def _before_deciding(self, tags: list[str]) -> SlotDecision | None:
        # A read: runs whose tags have no limit never take the write lock.
        return None if self.any_limited(tags) else UNLIMITED

    def _take_free_slots(self, tags: list[str], run_param: Any, owner: str) -> SlotDecision | None:
        return None  # the careful path is as short here: one write transaction

    def _lock_limits(self, cursor: Any, tags: list[str]) -> None:
        pass  # the IMMEDIATE transaction already holds the write lock

    def _announce_wanted(self, cursor: Any, tags: list[str]) -> None:
        pass  # nobody here defers a release

    def _release(self, run_param: Any, tags: Iterable[str] | None) -> list[str]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT l.tag FROM {self.slots_table} s JOIN {self.limits_table} l "
                "ON l.id = s.limit_id WHERE s.task_run_id = %s",
                [run_param],
            )
            freed = [row[0] for row in cursor.fetchall()]
            if freed:
                cursor.execute(
                    f"DELETE FROM {self.slots_table} WHERE task_run_id = %s", [run_param]
                )
            self._leave_queues(cursor, run_param)
        return freed

    def _notify_others(self, after_release: bool) -> None:
        pass  # they poll
