"""Calling tasks inside flows: results, states, names, tags, keys and the errors of misuse."""

from __future__ import annotations

import datetime

import pytest

from runs import flow, tags, task
from runs.models import State as StateRow
from runs.models import TaskRun
from runs.runtime import flow_run, task_run
from runs.states import StateType


def task_runs_of(state):
    return list(TaskRun.objects.filter(flow_run_id=state.flow_run_id).order_by("created", "id"))


def test_task_call_in_flow_returns_result_and_records_states():
    @task
    def double(x):
        return 2 * x

    @flow
    def doubling():
        return double(21)

    state = doubling(return_state=True)
    assert state.is_completed() and state.result() == 42
    (run,) = task_runs_of(state)
    assert (run.state_type, run.state_name, run.run_count) == ("COMPLETED", "Completed", 1)
    history = list(StateRow.objects.filter(task_run=run).values_list("name", flat=True))
    assert history == ["Pending", "Running", "Completed"]
    assert run.name == "double-0" and run.parameters == {"x": 21}


def test_bare_and_keyword_decorators_set_name_description_and_key():
    @task
    def plain():
        """Says hello."""

    @task(name="hello-task", description="This task says hello.", tags=["test"])
    def named():
        pass

    assert plain.name == "plain" and plain.description == "Says hello."
    assert named.name == "hello-task" and named.description == "This task says hello."
    assert named.tags == {"test"}
    assert plain.task_key != named.task_key
    assert named.with_options(tags=["other"]).task_key != named.task_key
    renamed = named.with_options(name="renamed", retries=2)
    assert renamed.name == "renamed" and renamed.retries == 2 and named.retries is None


def test_failed_task_raises_in_flow_and_records_message_and_traceback_log():
    @task
    def explode():
        raise ValueError("no good")

    @flow
    def exploding():
        explode()

    state = exploding(return_state=True)
    assert state.is_failed()
    assert "ValueError: no good" in state.message
    with pytest.raises(ValueError, match="no good"):
        state.result()
    (run,) = task_runs_of(state)
    assert (
        run.state_name == "Failed"
        and run.state_message == "Task run encountered an exception ValueError: no good"
    )
    assert run.logs.filter(level=40, message__contains="Traceback").exists()


def test_return_state_gives_the_state_instead_of_raising():
    @task
    def explode():
        raise KeyError("k")

    @flow
    def exploding():
        state = explode(return_state=True)
        return state.is_failed(), state.type

    assert exploding() == (True, StateType.FAILED)


def test_base_exception_crashes_and_is_reraised():
    class Stop(BaseException):
        pass

    @task
    def stop():
        raise Stop("halt")

    @flow
    def stopping():
        stop()

    with pytest.raises(Stop):
        stopping()
    run = TaskRun.objects.filter(task_name="stop").latest("created")
    assert run.state_type == "CRASHED" and "Stop: halt" in run.state_message
    assert run.flow_run.state_type == "CRASHED"


def test_task_called_outside_flow_raises_pointing_to_fn():
    @task
    def lonely():
        return 1

    with pytest.raises(RuntimeError, match=r"outside a flow.*lonely\.fn"):
        lonely()
    assert lonely.fn() == 1


def test_task_called_inside_task_raises():
    @task
    def inner():
        return 1

    @task
    def outer():
        return inner()

    @flow
    def nesting():
        state = outer(return_state=True)
        return state.is_failed(), state.message

    failed, message = nesting()
    assert failed
    assert "from inside another task" in message and "inner.fn" in message


def test_fn_call_records_no_run():
    @task
    def first(msg):
        return f"Hello, {msg}"

    @task
    def second(msg):
        return first.fn(msg)

    @flow
    def my_flow():
        return second("world")

    state = my_flow(return_state=True)
    assert state.result() == "Hello, world"
    assert [r.task_name for r in task_runs_of(state)] == ["second"]


def test_wrong_arguments_raise_type_error_before_any_run():
    @task
    def needs_two(a, b):
        return a + b

    @flow
    def calling():
        needs_two(1)

    with pytest.raises(TypeError):
        calling()
    assert not TaskRun.objects.filter(task_name="needs_two").exists()


def test_task_run_name_template_with_arguments_and_defaults():
    @task(name="My Example Task", task_run_name="hello-{name}-on-{date:%A}-{limit}")
    def my_task(name, date, limit=5):
        pass

    @flow
    def my_flow():
        my_task(name="marvin", date=datetime.datetime(2026, 11, 26))

    (run,) = task_runs_of(my_flow(return_state=True))
    assert run.name == "hello-marvin-on-Thursday-5"


def test_task_run_name_template_naming_missing_argument_is_clear_error():
    @task(task_run_name="hello-{nme}")
    def greet(name):
        pass

    @flow
    def my_flow():
        greet("x")

    with pytest.raises(ValueError, match=r"names \{nme\}.*arguments are: name"):
        my_flow()


def test_task_run_name_callable_sees_runtime():
    def generate_task_name():
        parameters = task_run.parameters
        return f"{flow_run.flow_name}-{task_run.task_name}-with-{parameters['name']}-and-{parameters['limit']}"

    @task(name="my-example-task", task_run_name=generate_task_name)
    def my_task(name: str, limit: int = 100):
        pass

    @flow
    def my_flow(name: str):
        my_task(name=name)

    (run,) = task_runs_of(my_flow("marvin", return_state=True))
    assert run.name == "my-flow-my-example-task-with-marvin-and-100"


def test_tags_from_decorator_and_nested_contexts_are_unioned():
    @task(tags=["deco"])
    def tagged():
        return sorted(task_run.tags)

    @flow
    def my_flow():
        with tags("outer"):
            with tags("inner"):
                return tagged()

    state = my_flow(return_state=True)
    assert state.result() == ["deco", "inner", "outer"]
    (run,) = task_runs_of(state)
    assert sorted(run.tags) == ["deco", "inner", "outer"]
    assert set(run.tag_rows.values_list("tag", flat=True)) == {"deco", "inner", "outer"}


def test_unserialisable_parameters_are_recorded_as_repr():
    class Thing:
        def __repr__(self):
            return "<Thing 7>"

    @task
    def use(thing):
        return 1

    @flow
    def my_flow():
        return use(Thing())

    state = my_flow(return_state=True)
    assert state.result() == 1
    (run,) = task_runs_of(state)
    assert run.parameters == {"thing": "<Thing 7>"}


def test_runtime_is_empty_outside_runs():
    assert flow_run.id is None and flow_run.parameters == {} and flow_run.tags == []
    assert task_run.name is None and task_run.run_count == 0


def test_task_run_name_template_shows_the_result_of_a_future_argument():
    """Prefect 2 names a run from its resolved arguments: a future shows its result."""

    @task
    def numbers():
        return [1, 2, 3]

    @task(task_run_name="item-{x}")
    def show(x):
        return x

    @flow
    def naming():
        show(numbers.submit())
        return show.submit(numbers.submit()).result()

    state = naming(return_state=True)
    names = sorted(run.name for run in task_runs_of(state) if run.task_name == "show")
    assert names == ["item-[1, 2, 3]", "item-[1, 2, 3]"]
