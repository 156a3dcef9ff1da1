"""Each rule of the policy, asked directly: the transitions it declares, what ``applies`` reads
(and leaves unchanged), and the decision it returns; then the policy that asks them in order.

Rows come from running flows and from orchestration itself (a task run proposed Pending), and
flow runs cancelled elsewhere from the services the API calls.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction

from runs import conf, flow, task
from runs.orchestration import decide_state, load_flow_run_record
from runs.orchestration.decisions import ACCEPT, REJECT, Decision, Verdict
from runs.orchestration.policy import Policy, Rule, Transition
from runs.orchestration.records import FlowRunRecord, TaskRunRecord
from runs.orchestration.rules import (
    FLOW_RUN_POLICY,
    TASK_RUN_POLICY,
    AdoptFinalFromElsewhere,
    CacheKeyLength,
    RefuseAfterFinal,
    ReleaseConcurrencySlots,
    RestoreCachedResult,
    SecureConcurrencySlots,
    StopCancelledFlowRun,
)
from runs.states import (
    Aborted,
    AwaitingRetry,
    Completed,
    Failed,
    Pending,
    Running,
    Scheduled,
    State,
    StateType,
)
from runs_limits import services as limit_services
from runs_limits.models import ConcurrencySlot


def asked(rule: Rule, record, proposed: State) -> tuple[Transition, bool]:
    """The transition, and whether the policy would ask ``rule`` about it."""
    t = Transition(record, proposed)
    return t, rule.covers(t) and rule.applies(t)


def fields(record) -> dict:
    return {k: v for k, v in vars(record).items() if k not in ("lock", "final_event")}


def apply(decision: Decision) -> None:
    for target, name, value in decision.updates:
        setattr(target, name, value)


@pytest.fixture(scope="module")
def cancelled_flow_run_id() -> str:
    """A flow run started as the API starts one, then cancelled as the API cancels one."""
    from runs.registry import register_flow
    from runs.services.flow_runs import cancel_flow_run, start_flow_run

    register_flow("tests.runs.celery_flows:add_flow")
    with pytest.MonkeyPatch.context() as patch:
        # Not sent: a session worker would otherwise finish the run before the cancel.
        patch.setattr("runs.runners.messages.send", lambda *args, **kwargs: None)
        run = start_flow_run(flow_name="celery-add", parameters={"x": 1})
    cancel_flow_run(flow_run_id=run.id)
    return run.id


def new_tag() -> str:
    return f"rules-{uuid.uuid4().hex[:8]}"


# ---- RefuseAfterFinal ----------------------------------------------------------------------
def test_a_final_run_refuses_any_later_state():
    rule = RefuseAfterFinal()
    record = TaskRunRecord(name="t", state=Failed("timed out"))
    for proposed in (Completed(), Running(), AwaitingRetry()):
        t, applies = asked(rule, record, proposed)
        assert applies and rule.decide(t) is REJECT


def test_refuse_after_final_is_not_asked_about_a_run_still_going():
    rule = RefuseAfterFinal()
    for state in (None, Pending(), Running(), Scheduled()):
        assert asked(rule, TaskRunRecord(name="t", state=state), Completed())[1] is False


# ---- StopCancelledFlowRun ------------------------------------------------------------------
def test_a_task_run_of_a_flow_run_cancelled_here_is_cancelled_instead_of_starting():
    rule = StopCancelledFlowRun()
    flow_run = FlowRunRecord(name="f", cancel_requested=True)
    t, applies = asked(rule, TaskRunRecord(name="t", state=Pending(), flow_run=flow_run), Running())
    decision = rule.decide(t)
    assert applies and decision.verdict is Verdict.ABORT
    assert decision.state.is_cancelled() and "cancelled before" in decision.state.message


def test_a_task_run_of_a_flow_run_cancelled_elsewhere_is_cancelled_and_the_flow_run_told(
    cancelled_flow_run_id,
):
    rule = StopCancelledFlowRun()
    flow_run = load_flow_run_record(cancelled_flow_run_id)
    flow_run.state = Running()  # what its worker still believes
    before = fields(flow_run)
    t, applies = asked(rule, TaskRunRecord(name="t", state=Pending(), flow_run=flow_run), Running())
    assert applies and fields(flow_run) == before  # asking changed nothing
    decision = rule.decide(t)
    assert decision.verdict is Verdict.ABORT and decision.state.is_cancelled()
    assert not flow_run.cancel_requested  # the decision carries it; the policy applies it
    assert decision.updates == ((flow_run, "cancel_requested", True),)


def test_stop_cancelled_flow_run_lets_other_task_runs_start():
    rule = StopCancelledFlowRun()
    t, applies = asked(
        rule, TaskRunRecord(name="t", state=Pending(), flow_run=FlowRunRecord(name="f")), Running()
    )
    assert applies and rule.decide(t) is ACCEPT
    assert asked(rule, TaskRunRecord(name="t", state=Pending()), Running())[1] is False
    t, applies = asked(
        rule,
        TaskRunRecord(
            name="t", state=Running(), flow_run=FlowRunRecord(name="f", cancel_requested=True)
        ),
        Completed(),
    )
    assert applies is False  # only starting is stopped


# ---- CacheKeyLength ------------------------------------------------------------------------
def test_a_cache_key_over_the_limit_fails_the_run_and_drops_the_key():
    rule = CacheKeyLength()
    record = TaskRunRecord(name="t", state=Pending(), cache_key="k" * 30)
    t, applies = asked(rule, record, Running())
    with conf.override(RUNS_TASK_CACHE_KEY_MAX_LENGTH=20):
        decision = rule.decide(t)
    assert applies and decision.verdict is Verdict.ABORT and decision.state.is_failed()
    assert "30 characters" in decision.state.message and "20" in decision.state.message
    assert record.cache_key == "k" * 30
    assert decision.updates == ((record, "cache_key", None),)


def test_a_cache_key_within_the_limit_is_accepted():
    rule = CacheKeyLength()
    t, applies = asked(
        rule, TaskRunRecord(name="t", state=Pending(), cache_key="k" * 20), Running()
    )
    with conf.override(RUNS_TASK_CACHE_KEY_MAX_LENGTH=20):
        assert applies and rule.decide(t) is ACCEPT
    assert asked(rule, TaskRunRecord(name="t", state=Pending()), Running())[1] is False


# ---- RestoreCachedResult -------------------------------------------------------------------
def test_a_live_cache_entry_answers_the_run_with_its_result():
    key = f"rules-{uuid.uuid4().hex}"

    @task(cache_key_fn=lambda context, parameters: key, cache_expiration=timedelta(hours=1))
    def square(x):
        return x * x

    @flow
    def fill():
        return str(square(7, return_state=True).task_run_id)

    source = fill()
    rule = RestoreCachedResult()
    record = TaskRunRecord(name="t", state=Pending(), cache_key=key)
    t, applies = asked(rule, record, Running())
    assert applies and rule.needs_db(t)
    decision = rule.decide(t)
    assert decision.verdict is Verdict.ACCEPT and decision.state.name == "Cached"
    assert decision.state.result_key and decision.state.result() == 49
    assert source in decision.state.message


def test_no_cache_entry_lets_the_run_start_and_refresh_skips_the_lookup():
    rule = RestoreCachedResult()
    key = f"rules-none-{uuid.uuid4().hex}"
    t, applies = asked(rule, TaskRunRecord(name="t", state=Pending(), cache_key=key), Running())
    assert applies and rule.decide(t) is ACCEPT
    refreshing = TaskRunRecord(name="t", state=Pending(), cache_key=key, refresh_cache=True)
    assert asked(rule, refreshing, Running())[1] is False


# ---- SecureConcurrencySlots ----------------------------------------------------------------
def test_a_free_slot_is_taken_and_a_full_limit_makes_the_next_run_wait(task_runs):
    tag = new_tag()
    limit_services.create_limit(tag=tag, concurrency_limit=1)
    rule = SecureConcurrencySlots()
    first, second = task_runs(tags=[tag]), task_runs(tags=[tag])

    proposed = Running()
    t, applies = asked(rule, first, proposed)
    decision = rule.decide(t)
    assert applies and decision.verdict is Verdict.ACCEPT
    # RUNNING is stamped once the slot is held, never before its last holder let go.
    assert decision.state.is_running() and decision.state.timestamp >= proposed.timestamp
    assert decision.updates == ((first, "limited", True), (first, "holds_slots", True))
    assert not first.holds_slots  # set by the policy, from the decision
    assert ConcurrencySlot.objects.filter(task_run_id=first.id).exists()
    apply(decision)

    t, applies = asked(rule, second, Running())
    decision = rule.decide(t)
    assert applies and decision.verdict is Verdict.WAIT
    assert decision.state.name == "AwaitingConcurrencySlot" and decision.state.is_pending()

    second.state = decision.state  # still waiting: asked again, nothing new is written
    assert rule.decide(Transition(second, Running())).verdict is Verdict.REJECT


def test_a_limit_of_zero_aborts_and_an_unlimited_tag_is_not_looked_up_again(task_runs):
    rule = SecureConcurrencySlots()
    tag = new_tag()
    limit_services.create_limit(tag=tag, concurrency_limit=0)
    decision = rule.decide(Transition(task_runs(tags=[tag]), Running()))
    assert decision.verdict is Verdict.ABORT and decision.state.name == "Aborted"

    free = task_runs(tags=[new_tag()])
    decision = rule.decide(Transition(free, Running()))
    assert decision.verdict is Verdict.ACCEPT and decision.updates == ((free, "limited", False),)
    apply(decision)
    assert asked(rule, free, Running())[1] is False
    assert asked(rule, TaskRunRecord(name="t", state=Pending()), Running())[1] is False


# ---- ReleaseConcurrencySlots ---------------------------------------------------------------
def test_leaving_running_frees_the_slots_and_wakes_the_waiters_after_commit(task_runs):
    tag = new_tag()
    limit_services.create_limit(tag=tag, concurrency_limit=1)
    record = task_runs(tags=[tag])
    apply(SecureConcurrencySlots().decide(Transition(record, Running())))
    record.state = Running()

    rule = ReleaseConcurrencySlots()
    t, applies = asked(rule, record, AwaitingRetry())
    decision = rule.decide(t)
    assert applies and decision.verdict is Verdict.ACCEPT and decision.state is None
    assert decision.updates == ((record, "holds_slots", False),)
    assert callable(decision.after_commit)
    assert not ConcurrencySlot.objects.filter(task_run_id=record.id).exists()


def test_release_is_asked_only_of_runs_holding_or_waiting_for_slots():
    rule = ReleaseConcurrencySlots()
    assert asked(rule, TaskRunRecord(name="t", state=Running()), Completed())[1] is False
    holding = TaskRunRecord(name="t", state=Running(), holds_slots=True)
    assert asked(rule, holding, Running())[1] is False
    waiting = TaskRunRecord(name="t", state=State(type="PENDING", name="AwaitingConcurrencySlot"))
    assert asked(rule, waiting, Failed())[1] is True
    assert asked(rule, waiting, Pending())[1] is False


# ---- AdoptFinalFromElsewhere ---------------------------------------------------------------
def test_a_flow_run_driven_by_id_takes_the_final_state_the_database_has(cancelled_flow_run_id):
    rule = AdoptFinalFromElsewhere()
    record = load_flow_run_record(cancelled_flow_run_id)
    record.state = Running()  # what its worker still believes
    t, applies = asked(rule, record, Completed())
    assert applies and rule.needs_db(t)
    with transaction.atomic():
        decision = rule.decide(t)
    assert decision.verdict is Verdict.REJECT and record.state.is_running()
    apply(decision)
    assert record.state.is_cancelled() and record.cancel_requested


def test_adopt_final_lets_a_live_flow_run_go_on_and_ignores_runs_of_this_process(
    flow_run_id, monkeypatch
):
    rule = AdoptFinalFromElsewhere()
    assert asked(rule, FlowRunRecord(name="f", state=Running()), Completed())[1] is False
    from runs.registry import register_flow
    from runs.services.flow_runs import cancel_flow_run, start_flow_run

    register_flow("tests.runs.celery_flows:add_flow")
    # Not sent: a session worker would otherwise finish the run before the cancel below.
    monkeypatch.setattr("runs.runners.messages.send", lambda *args, **kwargs: None)
    run = start_flow_run(flow_name="celery-add", parameters={"x": 2})
    try:
        with transaction.atomic():
            assert rule.decide(Transition(load_flow_run_record(run.id), Running())) is ACCEPT
    finally:
        cancel_flow_run(flow_run_id=run.id)


# ---- the policy ----------------------------------------------------------------------------
def test_the_policies_keep_their_order():
    order = [
        "RefuseAfterFinal",
        "StopCancelledFlowRun",
        "CacheKeyLength",
        "RestoreCachedResult",
        "SecureConcurrencySlots",
        "ReleaseConcurrencySlots",
    ]
    names = [type(rule).__name__ for rule in TASK_RUN_POLICY]
    assert [name for name in names if name in order] == order
    names = [type(rule).__name__ for rule in FLOW_RUN_POLICY]
    assert names[:2] == ["RefuseAfterFinal", "AdoptFinalFromElsewhere"]


class _Replace(Rule):
    def __init__(self, state: State, verdict: Verdict = Verdict.ACCEPT) -> None:
        self.state, self.verdict, self.seen = state, verdict, []

    def decide(self, t: Transition) -> Decision:
        self.seen.append(t.proposed.name)
        return Decision(self.verdict, self.state, ((t.record, "name", self.state.name),))


def test_the_policy_hands_each_replacement_to_the_later_rules_and_a_reject_ends_it():
    aborting, watching = _Replace(Aborted("no"), Verdict.ABORT), _Replace(Completed())
    record = TaskRunRecord(name="t", state=Pending())
    decision = Policy(aborting, watching).decide(Transition(record, Running()))
    assert watching.seen == ["Aborted"]  # the later rule judged the replacement
    assert decision.verdict is Verdict.ACCEPT and decision.state.is_completed()  # the last one
    assert record.name == "Completed"  # updates were applied in order

    decision = Policy(aborting, Rule()).decide(Transition(record, Running()))
    assert decision.verdict is Verdict.ABORT and decision.state.name == "Aborted"

    rejecting, never = _Replace(Failed(), Verdict.REJECT), _Replace(Completed())
    record = TaskRunRecord(name="t", state=Pending())
    decision = Policy(rejecting, never).decide(Transition(record, Running()))
    assert decision.verdict is Verdict.REJECT and decision.state is record.state
    assert never.seen == []


def test_the_policy_asks_a_rule_only_about_the_transitions_it_declares():
    class OnlyFinalToRunning(_Replace):
        from_types = frozenset({StateType.COMPLETED})

    rule = OnlyFinalToRunning(Failed())
    Policy(rule).decide(Transition(TaskRunRecord(name="t", state=Pending()), Running()))
    assert rule.seen == []


def test_decide_state_writes_the_outcome_and_returns_the_decision(task_runs):
    tag = new_tag()
    limit_services.create_limit(tag=tag, concurrency_limit=1)
    holder, waiter = task_runs(tags=[tag]), task_runs(tags=[tag])
    assert decide_state(holder, Running()).verdict is Verdict.ACCEPT and holder.holds_slots
    decision = decide_state(waiter, Running())
    assert decision.verdict is Verdict.WAIT and waiter.state is decision.state
    again = decide_state(waiter, Running())
    assert again.verdict is Verdict.REJECT and again.state is decision.state
    assert decide_state(holder, Completed()).verdict is Verdict.ACCEPT
    assert not holder.holds_slots and holder.is_final()
    assert decide_state(holder, Running()).verdict is Verdict.REJECT  # final stays final


def test_a_rule_about_starting_is_not_asked_once_an_earlier_rule_ended_the_run():
    class OnStart(_Replace):
        to_types = frozenset({StateType.RUNNING})

    ending, starting = _Replace(Failed("key too long"), Verdict.ABORT), OnStart(Completed())
    decision = Policy(ending, starting).decide(
        Transition(TaskRunRecord(name="t", state=Pending()), Running())
    )
    assert starting.seen == [] and decision.state.is_failed()
