"""Cache entries change only through orchestration: expiring them, and retention's detaching."""

from __future__ import annotations

import uuid
from datetime import timedelta

from runs import flow, task
from runs.services.cache import expire_cache_key


def test_expiring_a_key_expires_the_entry_a_run_of_this_process_just_wrote():
    key = f"entries-{uuid.uuid4().hex}"
    calls = []

    @task(cache_key_fn=lambda context, parameters: key, cache_expiration=timedelta(hours=1))
    def counted():
        calls.append(1)
        return len(calls)

    @flow
    def expire_between_calls():
        first = counted()  # its COMPLETED row may still wait in the write-behind buffer
        expired = expire_cache_key(cache_key=key)
        return first, expired, counted(return_state=True).name

    assert expire_between_calls() == (1, 1, "Completed")
    assert calls == [1, 1]
