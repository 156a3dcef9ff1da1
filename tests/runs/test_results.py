"""Result storage: cloudpickle under RUNS_LOCAL_STORAGE_PATH, atomic writes, clear errors."""

from __future__ import annotations

import os
import threading

import pytest

from runs import results


def test_round_trip_and_size():
    key = results.persist_result([1, 2, {"x": "y"}])
    assert results.load_result(key) == [1, 2, {"x": "y"}]
    assert results.result_size(key) > 0 and results.result_exists(key)


def test_write_is_atomic_no_partial_file_is_visible(monkeypatch):
    real_replace = os.replace
    calls = []

    def crash_before_rename(src, dst):
        calls.append((src, dst))
        raise KeyboardInterrupt("crash mid-write")

    monkeypatch.setattr(os, "replace", crash_before_rename)
    with pytest.raises(KeyboardInterrupt):
        results.persist_result("value")
    monkeypatch.setattr(os, "replace", real_replace)
    (tmp, final) = calls[0]
    assert not os.path.exists(final)  # a cache hit never finds a half-written result
    assert os.path.basename(tmp).startswith(".")


def test_unpicklable_value_names_the_type():
    with pytest.raises(results.ResultNotPersistable, match="lock"):
        results.persist_result(threading.Lock())


def test_missing_result_is_a_clear_error():
    key = results.persist_result(1)
    results.delete_result(key)
    with pytest.raises(results.ResultMissing, match=key):
        results.load_result(key)
