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


def test_a_small_hand_over_result_is_kept_in_its_key_and_a_durable_one_in_a_file():
    handed_over = results.persist_result((1, "two"), durable=False)
    kept = results.persist_result((1, "two"))

    assert results.is_inline(handed_over) and len(handed_over) <= 200  # the column's width
    assert results.load_result(handed_over) == (1, "two")
    assert results.result_exists(handed_over) and results.result_size(handed_over) > 0
    assert not results.is_inline(kept)
    assert (results.storage_path() / kept).exists()


def test_a_large_hand_over_result_goes_to_a_file():
    key = results.persist_result("x" * 5000, durable=False)

    assert not results.is_inline(key)
    assert results.load_result(key) == "x" * 5000


def test_a_key_this_project_did_not_sign_is_never_unpickled():
    key = results.persist_result(12345, durable=False)
    forged = key[:-2] + ("AA" if key[-2:] != "AA" else "BB")

    with pytest.raises(results.ResultNotTrusted, match="secret key"):
        results.load_result(forged)
    assert not results.result_exists(forged)
    assert results.result_size(forged) is None
