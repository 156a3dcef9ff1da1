"""Retention: delete finished flow runs older than a cut-off, with everything that hangs off them.

A pruned flow run takes its task runs, states, logs, tags, dependencies and concurrency-slot
rows with it, and the stored result files nobody else points to. Live cache entries survive:
a COMPLETED task-run state with a cache key that has not expired is detached from its task run
(``task_run_id`` NULL, which the cache lookup allows) and keeps its result file, so a later
call with the same key is still served from the cache. Detached entries are deleted once they
expire. The leases of processes that stopped renewing them before the cut-off go too, unless
an unfinished run, a slot or a waiter still names them.

Work goes in batches of flow runs, each batch in its own short transaction, so other writers
(workers recording states) wait at most one batch.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Q

from runs import conf
from runs.models import FlowRun, Log, ProcessLease, State, TaskRun
from runs.orchestration import cache as cache_entries
from runs.private_files import open_private, private_dir
from runs.selectors import cache as cache_selectors
from runs.states import FINAL_TYPES, now

logger = logging.getLogger("runs.prune")

FLOW_RUN_BATCH = 200
TASK_RUN_CHUNK = 1000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class PruneError(ValueError):
    """A retention period that cannot be used."""


def parse_age(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` as a timedelta of at most
    ``conf.MAX_AGE_DAYS``; anything else raises PruneError saying what to write."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", str(text or "").lower())
    if not match:
        raise PruneError(
            f"{text!r} is not an age; write a whole number and a unit: 30d (days), 12h, 90m, "
            "2w or 45s."
        )
    digits, unit = match.group(1).lstrip("0") or "0", match.group(2)
    # Compared before converting: a cut-off that far back is out of the calendar's range.
    if len(digits) > 12 or int(digits) * _UNITS[unit] > conf.MAX_AGE_DAYS * _UNITS["d"]:
        raise PruneError(
            f"{text!r} is too long an age; the longest is {conf.MAX_AGE_DAYS}d (100 years)."
        )
    return dt.timedelta(seconds=int(digits) * _UNITS[unit])


@dataclass
class PruneResult:
    """What was (or, in a dry run, would be) removed."""

    flow_runs: int = 0
    task_runs: int = 0
    states: int = 0
    logs: int = 0
    result_files: int = 0
    cache_entries_kept: int = 0
    leases: int = 0
    dry_run: bool = False
    cutoff: dt.datetime | None = None
    result_keys: set[str] = field(default_factory=set, repr=False)

    def summary(self) -> str:
        """One line for people."""
        verb = "Would remove" if self.dry_run else "Removed"
        kept = (
            f"; kept {self.cache_entries_kept} live cache entr"
            f"{'y' if self.cache_entries_kept == 1 else 'ies'}"
            if self.cache_entries_kept
            else ""
        )
        leases = (
            f"; {verb.lower()} {self.leases} lapsed process lease{'' if self.leases == 1 else 's'}"
            if self.leases
            else ""
        )
        return (
            f"{verb} {self.flow_runs} flow runs, {self.task_runs} task runs, "
            f"{self.states} states, {self.logs} logs and {self.result_files} result files "
            f"finished before {self.cutoff:%Y-%m-%d %H:%M:%S} UTC{kept}{leases}."
        )


def old_flow_runs(cutoff: dt.datetime):
    """Finished flow runs that ended (or, without an end time, were created) before ``cutoff``."""
    return FlowRun.objects.filter(state_type__in=FINAL_TYPES, created__lt=cutoff).filter(
        Q(end_time__lt=cutoff) | Q(end_time__isnull=True)
    )


def _live_cache(queryset, at: dt.datetime):
    return cache_selectors.live_entries(
        queryset.filter(type="COMPLETED", cache_key__isnull=False), at
    )


def _delete_related(model, ids: list, *, skip: tuple = ()) -> None:
    """Delete or detach the rows of other models pointing at ``model`` rows ``ids``."""
    relations = [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]
    for relation in relations:
        if relation.related_model in skip:
            continue
        rows = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": ids})
        if relation.on_delete is models.CASCADE:
            rows.delete()
        elif relation.on_delete is models.SET_NULL:
            rows.update(**{relation.field.name: None})


def _prune_batch(run_ids: list, at: dt.datetime, result: PruneResult, dry_run: bool) -> None:
    task_ids = list(TaskRun.objects.filter(flow_run_id__in=run_ids).values_list("id", flat=True))
    result.flow_runs += len(run_ids)
    result.task_runs += len(task_ids)
    keys = set(
        FlowRun.objects.filter(id__in=run_ids)
        .exclude(result_key="")
        .values_list("result_key", flat=True)
    )
    cache_keys: set[str] = set()
    state_filters = [Q(flow_run_id__in=run_ids)] + [
        Q(task_run_id__in=task_ids[i : i + TASK_RUN_CHUNK])
        for i in range(0, len(task_ids), TASK_RUN_CHUNK)
    ]
    for where in state_filters:
        states = State.objects.filter(where)
        for key, cache_key in states.exclude(result_key="").values_list("result_key", "cache_key"):
            keys.add(key)
            if cache_key:
                cache_keys.add(cache_key)
        live = _live_cache(states, at)
        kept = live.count()
        result.cache_entries_kept += kept
        result.states += states.count() - kept
        result.logs += Log.objects.filter(where).count()
        if not dry_run and kept:
            cache_entries.detach_live_entries(states, at)
    if dry_run:
        result.result_keys |= keys
        return
    for start in range(0, len(task_ids), TASK_RUN_CHUNK):
        chunk = task_ids[start : start + TASK_RUN_CHUNK]
        _delete_related(TaskRun, chunk)
        TaskRun.objects.filter(id__in=chunk)._raw_delete(TaskRun.objects.db)
    _delete_related(FlowRun, run_ids, skip=(TaskRun,))
    FlowRun.objects.filter(id__in=run_ids)._raw_delete(FlowRun.objects.db)
    result.result_keys |= keys - _still_needed(keys, cache_keys)


def _still_needed(keys: set[str], cache_keys: set[str]) -> set[str]:
    """Result keys some remaining state points to (only cache hits share a result file)."""
    if not cache_keys:
        return set()
    needed = set()
    cache_list, key_list = list(cache_keys), list(keys)
    for i in range(0, len(cache_list), 500):
        needed |= set(
            State.objects.filter(
                cache_key__in=cache_list[i : i + 500], result_key__in=key_list
            ).values_list("result_key", flat=True)
        )
    return needed


def _expired_detached_entries(at: dt.datetime, result: PruneResult, dry_run: bool) -> None:
    """Cache entries detached by an earlier prune that have expired since."""
    expired = State.objects.filter(
        task_run__isnull=True, flow_run__isnull=True, cache_expiration__isnull=False
    ).exclude(cache_selectors.live(at))
    rows = list(expired.values_list("id", "result_key", "cache_key")[:10000])
    if not rows:
        return
    result.states += len(rows)
    keys = {key for _, key, _ in rows if key}
    if dry_run:
        result.result_keys |= keys
        return
    cache_entries.delete_detached_entries([row_id for row_id, _, _ in rows])
    result.result_keys |= keys - _still_needed(keys, {c for _, _, c in rows if c})


def _lapsed_leases(cutoff: dt.datetime, result: PruneResult, dry_run: bool) -> None:
    """Leases that lapsed before ``cutoff`` and that no unfinished run, slot or waiter names
    (one row per process that ever ran would otherwise pile up)."""
    from runs_limits.models import ConcurrencySlot, SlotWaiter

    named = [
        model.objects.exclude(state_type__in=FINAL_TYPES).values("owner")
        for model in (FlowRun, TaskRun)
    ]
    named += [model.objects.values("owner") for model in (ConcurrencySlot, SlotWaiter)]
    lapsed = ProcessLease.objects.filter(expires__lt=cutoff)
    for owners in named:
        lapsed = lapsed.exclude(owner__in=owners)
    if dry_run:
        result.leases = lapsed.count()
        return
    with transaction.atomic():
        result.leases = lapsed.delete()[0]


def prune(
    *,
    older_than: dt.timedelta,
    dry_run: bool = False,
    batch_size: int = FLOW_RUN_BATCH,
    progress: Callable[[PruneResult], None] | None = None,
) -> PruneResult:
    """Delete (or with ``dry_run`` count) finished flow runs older than ``older_than``.

    ``progress`` is called with the running totals after each batch.
    """
    from runs.results import delete_result, result_exists

    at = now()
    cutoff = at - older_than
    result = PruneResult(dry_run=dry_run, cutoff=cutoff)
    candidates = old_flow_runs(cutoff).order_by("created", "id")
    last = None
    while True:
        batch = candidates
        if last is not None:
            batch = batch.filter(Q(created__gt=last[0]) | Q(created=last[0], id__gt=last[1]))
        rows = list(batch.values_list("id", "created")[:batch_size])
        if not rows:
            break
        with transaction.atomic():
            _prune_batch([run_id for run_id, _ in rows], at, result, dry_run)
        last = (rows[-1][1], rows[-1][0])
        if progress is not None:
            progress(result)
    _expired_detached_entries(at, result, dry_run)
    _lapsed_leases(cutoff, result, dry_run)
    for key in sorted(result.result_keys):
        if dry_run:
            result.result_files += result_exists(key)
        else:
            result.result_files += delete_result(key)
    return result


def prune_if_due() -> PruneResult | None:
    """Apply RUNS_RETENTION_DAYS at most once a day per RUNS_HOME; None when off or not due.

    Meant for the worker's periodic loop. A stamp file under RUNS_HOME records the last run;
    a file lock makes sure two processes on one machine do not prune at once.
    """
    days = conf.settings.RUNS_RETENTION_DAYS
    if not days:
        return None
    home = conf.settings.RUNS_HOME
    private_dir(home)
    stamp = home / "prune.stamp"
    with os.fdopen(open_private(home / "prune.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        if stamp.exists() and dt.datetime.now().timestamp() - stamp.stat().st_mtime < 86400:
            return None
        result = prune(older_than=dt.timedelta(days=days))
        stamp.touch()
    logger.info("Retention (RUNS_RETENTION_DAYS=%s): %s", days, result.summary())
    return result
