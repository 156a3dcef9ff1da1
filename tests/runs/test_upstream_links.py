"""Upstream links recorded as Prefect 2 tracks them (issue 13, item 3).

Prefect 2.20 links a value to the task run that returned it by object identity within the flow
run (``utilities.engine.link_state_to_result`` / ``collect_task_run_inputs``): the returned object
and its direct elements are tracked, except None, booleans and the ints -5..256 (singletons), so a
value obtained by the call, ``future.result()`` or ``state.result()`` and passed to another task
becomes that task run's upstream. Links are read back here as the dashboard reads them: the
``upstream`` ids of GET /api/task-runs/<id>/, through ``get_client``. Observed in
/work/parity/e/RESULTS.md.
"""

from __future__ import annotations

import pytest

from runs import flow, get_client, task, unmapped
from runs.runtime import flow_run


class Thing:
    def __init__(self, value):
        self.value = value


PRODUCERS = {
    "str": lambda: "".join(["ab", "c"]),
    "int_1000": lambda: 1000,
    "int_5": lambda: 5,
    "none": lambda: None,
    "true": lambda: True,
    "list": lambda: [1, 2, 3],
    "dict": lambda: {"a": 1},
    "object": lambda: Thing(1),
}
LINKED = {"str", "int_1000", "list", "dict", "object"}


@task
def produce(kind):
    return PRODUCERS[kind]()


@task
def make_list():
    return [1, 2, 3]


@task
def make_tuple():
    return ([1], 1000, 5, "".join(["x", "y"]), None)


@task
def make_literal():
    return "hello"


@task
def make_nested():
    return {"a": [1000], "b": 2000}


@task
def identity(x):
    return x


@task
def use(value):
    return "used"


@task
def item(x, extra=None):
    return x


def use_as(name):
    """``use`` with a run name to find it by."""
    return use.with_options(task_run_name=name)


def upstream_names(flow_run_id):
    """{task run name: sorted names of its upstream task runs} for one flow run, from the API."""
    client = get_client(sync_client=True)
    runs = [client.read_task_run(i) for i in client.read_flow_run(flow_run_id).task_run_ids]
    names = {run.id: run.name for run in runs}
    return {run.name: sorted(names.get(u, str(u)) for u in run.upstream) for run in runs}


# ---- a task's result, however obtained, passed to another task ----------------------------------


@pytest.mark.parametrize("how", ["call", "future.result()", "state.result()"])
@pytest.mark.parametrize("kind", list(PRODUCERS))
def test_result_passed_on_is_linked_unless_a_singleton(kind, how):
    """Prefect 2: a value a task returned, obtained by the call, ``future.result()`` or
    ``state.result()``, passed to another task is an upstream link, for str, int 1000, list, dict
    and custom objects; not for 5, None or True (singletons Prefect cannot track by identity)."""

    @flow
    def passes_on():
        if how == "call":
            value = produce(kind)
        elif how == "future.result()":
            value = produce.submit(kind).result()
        else:
            value = produce(kind, return_state=True).result()
        use_as("consumer")(value)
        return flow_run.id

    links = upstream_names(passes_on())

    assert links["consumer"] == (["produce-0"] if kind in LINKED else [])


def test_future_and_state_objects_are_linked():
    """Prefect 2: a future or a State passed as an argument, also inside a list, is an upstream
    link; so is a task's result inside a list argument."""

    @flow
    def passes_objects():
        use_as("got-future")(make_list.submit())
        use_as("got-state")(make_list(return_state=True))
        use_as("future-in-list")([make_list.submit(), 3])
        use_as("result-in-list")([make_list(), 3])
        return flow_run.id

    links = upstream_names(passes_objects())

    assert links["got-future"] == ["make_list-0"]
    assert links["got-state"] == ["make_list-1"]
    assert links["future-in-list"] == ["make_list-2"]
    assert links["result-in-list"] == ["make_list-3"]


def test_small_int_element_of_a_result_is_not_linked():
    """Prefect 2: ``make_list()[0]`` is the int 1, a singleton, so it carries no link."""

    @flow
    def passes_element():
        use_as("consumer")(make_list()[0])
        return flow_run.id

    assert upstream_names(passes_element())["consumer"] == []


def test_elements_of_an_unpacked_tuple_are_linked():
    """Prefect 2: the direct elements of a returned tuple, unpacked by the flow, link to the task
    run that returned it (a list, 1000, a built str); 5 and None do not; a tuple rebuilt from
    linked elements is linked."""

    @flow
    def unpacks():
        a, b, c, d, e = make_tuple()
        for name, value in zip("abcde", (a, b, c, d, e), strict=True):
            use_as(f"use-{name}")(value)
        use_as("use-rebuilt")((a, b))
        return flow_run.id

    links = upstream_names(unpacks())

    assert {name: links[f"use-{name}"] for name in "abcde"} == {
        "a": ["make_tuple-0"],
        "b": ["make_tuple-0"],
        "c": [],
        "d": ["make_tuple-0"],
        "e": [],
    }
    assert links["use-rebuilt"] == ["make_tuple-0"]


def test_interned_literal_links_to_the_task_that_returned_it():
    """Prefect 2 tracks by identity, so a string literal the flow passes is linked to a task that
    returned the same interned literal ``"hello"``, though the flow never used that result."""

    @flow
    def uses_own_literal():
        make_literal()
        use_as("consumer")("hello")
        return flow_run.id

    assert upstream_names(uses_own_literal())["consumer"] == ["make_literal-0"]


def test_object_passed_through_a_task_keeps_its_first_link():
    """Prefect 2 gives a task copies of list, tuple, set and dict arguments (it rebuilds them while
    resolving futures), so ``b = identity(a)`` returns a new list: ``a`` stays linked to the task
    that made it, ``b`` to ``identity``."""

    @flow
    def passes_through():
        a = make_list()
        b = identity(a)
        use_as("use-a")(a)
        use_as("use-b")(b)
        return flow_run.id

    links = upstream_names(passes_through())

    assert links["identity-0"] == ["make_list-0"]
    assert links["use-a"] == ["make_list-0"]
    assert links["use-b"] == ["identity-0"]


def test_task_gets_copies_of_container_arguments():
    """Prefect 2 rebuilds list, tuple, set and dict arguments (at every depth) while resolving
    futures in them, so a task gets copies: appending to its list argument leaves the flow's list
    alone. Other objects are passed as they are. This is why the link above stays with the first
    task."""

    class Thing:
        pass

    @task
    def append_to(values):
        values.append(99)
        return values

    @flow
    def passes_containers():
        values, inner, mapping, thing = [1, 2], [5], {"a": 1}, Thing()
        returned = append_to(values)
        return {
            "flow_list": values,
            "returned": returned,
            "same_list": identity(values) is values,
            "same_nested": identity([inner])[0] is inner,
            "same_dict": identity(mapping) is mapping,
            "same_object": identity(thing) is thing,
        }

    seen = passes_containers()

    assert seen["flow_list"] == [1, 2] and seen["returned"] == [1, 2, 99]
    assert (seen["same_list"], seen["same_nested"], seen["same_dict"]) == (False, False, False)
    assert seen["same_object"] is True


def test_only_direct_elements_of_a_result_are_tracked():
    """Prefect 2 tracks a result and its direct elements (one level): ``n["a"]`` and ``n["b"]``
    (2000) are linked, ``n["a"][0]`` (1000, two levels down) is not; a result nested deep inside an
    argument is found."""

    @flow
    def nesting():
        n = make_nested()
        use_as("depth-1-list")(n["a"])
        use_as("depth-1-int")(n["b"])
        use_as("depth-2-int")(n["a"][0])
        use_as("deep-argument")({"k": [[make_list()]]})
        return flow_run.id

    links = upstream_names(nesting())

    assert links["depth-1-list"] == ["make_nested-0"]
    assert links["depth-1-int"] == ["make_nested-0"]
    assert links["depth-2-int"] == []
    assert links["deep-argument"] == ["make_list-0"]


def test_mapped_run_result_passed_on_is_linked():
    """Prefect 2: the result of one mapped run, passed to another task, links to that mapped run."""

    @flow
    def uses_mapped():
        futures = item.with_options(task_run_name="mapped-{x}").map([500, 600])
        use_as("consumer")(futures[0].result())
        return flow_run.id

    assert upstream_names(uses_mapped())["consumer"] == ["mapped-500"]


# ---- subflows -----------------------------------------------------------------------------------


def test_subflow_value_and_state_link_to_the_subflow_task_run():
    """Prefect 2: a subflow's returned value, its State (``return_state=True``) and that state's
    ``.result()``, passed to a task, link to the task run that stands for the subflow in the parent
    (also when the subflow returned a task's value)."""
    child_runs: list = []

    @flow
    def child():
        child_runs.append(flow_run.id)
        return [7, 8]

    @flow
    def child_of_task():
        child_runs.append(flow_run.id)
        return make_list()

    @flow
    def parent():
        use_as("use-value")(child())
        state = child(return_state=True)
        use_as("use-state")(state)
        use_as("use-state-result")(state.result())
        use_as("use-task-value")(child_of_task())
        return flow_run.id

    parent_id = parent()
    client = get_client(sync_client=True)
    subflow_tasks = [client.read_flow_run(i).parent_task_run_id for i in child_runs]
    names = {i: client.read_task_run(i).name for i in subflow_tasks}
    links = upstream_names(parent_id)

    assert links["use-value"] == [names[subflow_tasks[0]]]
    assert links["use-state"] == [names[subflow_tasks[1]]]
    assert links["use-state-result"] == [names[subflow_tasks[1]]]
    assert links["use-task-value"] == [names[subflow_tasks[2]]]


# ---- .map() -------------------------------------------------------------------------------------


def test_each_run_of_map_over_a_future_links_to_it():
    """Prefect 2: ``.map(future)`` over a future of a list: every mapped run links to that
    future's task run, though their elements (1, 2, 3) are singletons."""

    @flow
    def maps_future():
        item.map(make_list.submit())
        return flow_run.id

    links = upstream_names(maps_future())

    assert {name: links[name] for name in ("item-0", "item-1", "item-2")} == {
        "item-0": ["make_list-0"],
        "item-1": ["make_list-0"],
        "item-2": ["make_list-0"],
    }


def test_map_over_futures_links_each_run_to_its_future():
    """Prefect 2: ``.map([f1, f2])`` links each mapped run to its own future's task run only."""

    @flow
    def maps_futures():
        first, second = make_list.submit(), make_list.submit()
        item.map([first, second])
        return flow_run.id

    links = upstream_names(maps_futures())

    assert (links["item-0"], links["item-1"]) == (["make_list-0"], ["make_list-1"])


def test_unmapped_result_links_every_mapped_run():
    """Prefect 2: a task's result passed as ``unmapped(value)`` links every mapped run to it."""

    @flow
    def maps_with_unmapped():
        values = make_list()
        item.map([10, 20], unmapped(values))
        return flow_run.id

    links = upstream_names(maps_with_unmapped())

    assert (links["item-0"], links["item-1"]) == (["make_list-0"], ["make_list-0"])


def test_each_run_of_map_over_a_result_list_links_to_it():
    """Prefect 2: ``.map(values)`` over the list a task returned (already resolved) also links
    every mapped run to that task run: the iterable's links are taken before it is split."""

    @flow
    def maps_result():
        item.map(make_list())
        return flow_run.id

    links = upstream_names(maps_result())

    assert [links[name] for name in ("item-0", "item-1", "item-2")] == [["make_list-0"]] * 3


# ---- on a worker --------------------------------------------------------------------------------


def test_results_from_a_worker_are_linked(runs_worker):
    """Prefect 2 links by identity in the flow's process, whatever ran the task: a result that came
    back from a Celery worker, passed to another task, is an upstream link; so is each run of
    ``.map(future)``."""
    from runs.task_runners import CeleryTaskRunner

    @flow(task_runner=CeleryTaskRunner(queue=runs_worker.queue))
    def on_a_worker():
        values = make_list.submit().result()
        use.submit(values).wait()
        for future in item.map(make_list.submit()):
            future.wait()
        from_state = make_list.submit().wait().result()
        use.submit(from_state).wait()
        return flow_run.id

    links = upstream_names(on_a_worker())

    assert links["use-0"] == ["make_list-0"]
    assert [links[f"item-{i}"] for i in range(3)] == [["make_list-1"]] * 3
    assert links["use-1"] == ["make_list-2"]  # read through state.result()
