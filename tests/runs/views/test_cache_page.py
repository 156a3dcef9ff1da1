"""The cache page lists cached results and expires one key or all of a task's."""

from __future__ import annotations

import uuid

from runs.models import State
from runs.orchestration.writer import writer
from runs.selectors.cache import cache_entries
from runs.states import now
from tests.runs.views.sample_flows import dashboard_sample


def _fresh_cached_run():
    state = dashboard_sample(count=2, salt=uuid.uuid4().hex, return_state=True)
    writer.flush()
    return State.objects.get(
        task_run__flow_run_id=state.flow_run_id,
        task_run__task_name="cached_total",
        type="COMPLETED",
    )


def test_cache_page_lists_entries_with_task_key_expiry_and_size(client):
    state = _fresh_cached_run()
    html = client.get("/cache/", {"q": state.cache_key[:12]}).content.decode()
    assert "cached_total" in html and f'data-cache-key="{state.cache_key}"' in html
    assert "bytes" in html  # the stored result's size


def test_search_narrows_the_entries(client):
    state = _fresh_cached_run()
    html = client.get("/cache/", {"q": "no-such-task-" + uuid.uuid4().hex}).content.decode()
    assert state.cache_key not in html and "No cache entry matches" in html


def test_expiring_one_entry_sets_its_expiration_to_now(client):
    state = _fresh_cached_run()
    response = client.post("/cache/expire/", {"cache_key": state.cache_key})
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.cache_expiration <= now()
    assert state.cache_key not in [e.cache_key for e in cache_entries(search=state.cache_key)]
    html = client.get("/cache/", {"q": state.cache_key, "expired": "1"}).content.decode()
    assert "(expired)" in html


def test_expiring_a_task_expires_every_entry_it_wrote(client):
    first, second = _fresh_cached_run(), _fresh_cached_run()
    response = client.post(
        "/cache/expire-task/",
        {"task_key": first.task_run.task_key, "task_name": "cached_total"},
        follow=True,
    )
    assert "Expired" in response.content.decode()
    for state in (first, second):
        state.refresh_from_db()
        assert state.cache_expiration <= now()


def test_an_expired_entry_makes_the_next_run_compute_again():
    salt = uuid.uuid4().hex
    dashboard_sample(count=2, salt=salt)
    again = dashboard_sample(count=2, salt=salt, return_state=True)
    writer.flush()
    cached = State.objects.filter(
        task_run__flow_run_id=again.flow_run_id, task_run__task_name="cached_total"
    ).order_by("-timestamp")[0]
    assert cached.name == "Cached"
    from runs.services.cache import expire_cache_key

    assert expire_cache_key(cache_key=cached.cache_key) >= 1
    third = dashboard_sample(count=2, salt=salt, return_state=True)
    writer.flush()
    final = State.objects.filter(
        task_run__flow_run_id=third.flow_run_id, task_run__task_name="cached_total"
    ).order_by("-timestamp")[0]
    assert final.name == "Completed"


def test_expire_is_post_only(client):
    assert client.get("/cache/expire/").status_code == 405
