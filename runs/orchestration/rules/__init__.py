"""The rules of orchestration, and the two policies: their order is the order rules are asked.

The protocol (:class:`Rule`, :class:`Transition`, :class:`Policy`) is in
:mod:`runs.orchestration.policy`; the answers are in :mod:`runs.orchestration.decisions`.
One module here per group of rules: the end of a run, the cache, concurrency slots, work
queues.
"""

from __future__ import annotations

from runs.orchestration.decisions import Decision, Verdict
from runs.orchestration.policy import Policy, Rule, Transition
from runs.orchestration.rules.caching import CacheKeyLength, RestoreCachedResult, _cache_candidates
from runs.orchestration.rules.final import (
    AdoptFinalFromElsewhere,
    RefuseAfterFinal,
    StopCancelledFlowRun,
)
from runs.orchestration.rules.queues import TakeQueuePlaceAtOnce
from runs.orchestration.rules.retries import RetryFailedRuns
from runs.orchestration.rules.slots import ReleaseConcurrencySlots, SecureConcurrencySlots

__all__ = [
    "Decision",
    "Verdict",
    "Policy",
    "Rule",
    "Transition",
    "TASK_RUN_POLICY",
    "FLOW_RUN_POLICY",
    "RefuseAfterFinal",
    "AdoptFinalFromElsewhere",
    "StopCancelledFlowRun",
    "CacheKeyLength",
    "RestoreCachedResult",
    "SecureConcurrencySlots",
    "ReleaseConcurrencySlots",
    "TakeQueuePlaceAtOnce",
    "_cache_candidates",
]

TASK_RUN_POLICY = Policy(
    RefuseAfterFinal(),
    StopCancelledFlowRun(),
    CacheKeyLength(),
    RestoreCachedResult(),
    SecureConcurrencySlots(),
    RetryFailedRuns(),
    ReleaseConcurrencySlots(),
)

FLOW_RUN_POLICY = Policy(
    RefuseAfterFinal(), AdoptFinalFromElsewhere(), RetryFailedRuns(), TakeQueuePlaceAtOnce()
)
