"""One definition of a live cache entry, used by the cache page, expiry and the task run page."""

from __future__ import annotations

import datetime as dt
import uuid

from runs.models import State
from runs.selectors import cache as cache_selectors
from runs.services.cache import expire_cache_key
from tests.runs.selectors.cached_flows import run_cached_flow


def test_a_cached_result_is_live_until_expired_then_only_listed_with_expired_ones():
    task_run = run_cached_flow(uuid.uuid4().hex)
    key = task_run.cache_key
    entry = State.objects.filter(task_run=task_run, cache_key=key)

    live_before = cache_selectors.live_entries(entry).count()
    listed_before = [e.cache_key for e in cache_selectors.cache_entries(search=key)]
    expired = expire_cache_key(cache_key=key)
    task_run.refresh_from_db()

    assert (live_before, listed_before, expired) == (1, [key], 1)
    assert cache_selectors.live_entries(entry).count() == 0
    assert cache_selectors.cache_entries(search=key) == []
    [shown] = cache_selectors.cache_entries(search=key, include_expired=True)
    assert shown.is_expired and cache_selectors.is_expired(task_run.cache_expiration)


def test_live_at_a_given_moment():
    task_run = run_cached_flow(uuid.uuid4().hex)
    entry = State.objects.filter(task_run=task_run, cache_key=task_run.cache_key)
    expires = task_run.cache_expiration

    assert cache_selectors.live_entries(entry, at=expires - dt.timedelta(seconds=1)).exists()
    assert not cache_selectors.live_entries(entry, at=expires).exists()
    assert not cache_selectors.is_expired(None)
    assert cache_selectors.is_expired(expires, at=expires)
