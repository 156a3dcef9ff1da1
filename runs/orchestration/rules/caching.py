"""Rules about cached results: a cache key must fit, and a live cache entry answers the run."""

from __future__ import annotations

import uuid

from runs import conf
from runs.orchestration.decisions import ACCEPT, Decision
from runs.orchestration.policy import RUNNING, Rule, Transition
from runs.states import Cached, Failed, now


class CacheKeyLength(Rule):
    """A cache key over RUNS_TASK_CACHE_KEY_MAX_LENGTH ends the run before it starts."""

    to_types = RUNNING

    def applies(self, t: Transition) -> bool:
        return t.is_task and t.record.cache_key is not None

    def decide(self, t: Transition) -> Decision:
        limit = conf.settings.RUNS_TASK_CACHE_KEY_MAX_LENGTH
        length = len(t.record.cache_key)
        if length <= limit:
            return ACCEPT
        return Decision.abort(
            Failed(
                f"The cache key is {length} characters long; the limit is {limit} "
                "(RUNS_TASK_CACHE_KEY_MAX_LENGTH). Return a shorter cache key from "
                "cache_key_fn, for example a hash of it."
            ),
            updates=((t.record, "cache_key", None),),
        )


class RestoreCachedResult(Rule):
    """A COMPLETED state with the same unexpired cache key, whose result is still stored,
    answers the run."""

    to_types = RUNNING

    def applies(self, t: Transition) -> bool:
        record = t.record
        return t.is_task and record.cache_key is not None and not record.refresh_cache

    def needs_db(self, t: Transition) -> bool:
        return True

    def decide(self, t: Transition) -> Decision:
        from runs.results import result_exists

        for result_key, expiration, source in _cache_candidates(t.record.cache_key, t.record.id):
            if result_key and result_exists(result_key):
                return Decision.accept(
                    Cached(
                        f"Cached result of task run {source}.",
                        result_key=result_key,
                        cache_key=t.record.cache_key,
                        cache_expiration=expiration,
                    )
                )
            from runs.logging import task_run_logger

            task_run_logger(t.record).warning(
                "Cache entry %r of task run %s has no stored result any more; running the task.",
                t.record.cache_key,
                source,
            )
        return ACCEPT


def _cache_candidates(cache_key: str, task_run_id) -> list[tuple[str, object, object]]:
    """Newest unexpired COMPLETED states with this key: (result_key, expiration, task run id).

    Raw SQL on the (cache_key, -timestamp) index: this runs on every cached call and the ORM's
    query building would cost more than the query.
    """
    import datetime as dt

    from django.db import connection
    from django.utils.dateparse import parse_datetime

    from runs.models import State as StateRow

    ops = connection.ops
    table = ops.quote_name(StateRow._meta.db_table)
    task_run_field = StateRow._meta.get_field("task_run")
    sql = (
        f"SELECT result_key, cache_expiration, task_run_id FROM {table} "
        "WHERE cache_key = %s AND type = 'COMPLETED' "
        "AND (cache_expiration IS NULL OR cache_expiration > %s) "
        "AND (task_run_id IS NULL OR task_run_id <> %s) "
        "ORDER BY timestamp DESC LIMIT 5"
    )
    params = [
        cache_key,
        ops.adapt_datetimefield_value(now()),
        task_run_field.get_db_prep_value(task_run_id, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for result_key, expiration, source in rows:
        if isinstance(expiration, str):
            expiration = parse_datetime(expiration)
        if expiration is not None and expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=dt.UTC)
        if source is not None and not isinstance(source, uuid.UUID):
            source = uuid.UUID(str(source))  # SQLite gives the id as 32 hex digits
        found.append((result_key, expiration, source))
    return found
