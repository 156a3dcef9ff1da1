"""The limits pages: create with inline errors, edit, delete with confirmation, inspect."""

from __future__ import annotations

import pytest

from runs.exceptions import ObjectNotFound
from runs.states import now
from runs_limits import selectors
from runs_limits.models import ConcurrencyLimit, ConcurrencySlot
from runs_limits.services import create_limit
from tests.runs.views.helpers import make_flow_run, make_task_run, unique


def test_creating_a_limit_redirects_to_the_list_which_shows_it(client):
    tag = unique("create")
    response = client.post("/limits/", {"tag": tag, "concurrency_limit": "4"})
    assert response.status_code == 302 and response["Location"] == "/limits/"
    assert selectors.get_limit_by_tag(tag).concurrency_limit == 4
    html = client.get("/limits/").content.decode()
    assert f'data-tag="{tag}"' in html and "0 / 4" in html and "Created the limit" in html


@pytest.mark.parametrize(
    "tag,value,message",
    [
        ("", "3", "The tag cannot be empty"),
        ("  ", "3", "The tag cannot be empty"),
        ("neg", "-1", "The limit cannot be negative"),
        ("frac", "2.5", "whole number of 0 or more"),
        ("word", "many", "whole number of 0 or more"),
        ("blank", "", "Give a limit"),
    ],
)
def test_bad_limits_are_shown_beside_their_field(client, tag, value, message):
    if tag.strip():
        tag = unique(tag)
    response = client.post("/limits/", {"tag": tag, "concurrency_limit": value})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'class="field-error"' in html
    assert 'aria-invalid="true"' in html
    if tag.strip():
        assert not ConcurrencyLimit.objects.filter(tag=tag).exists()


def test_a_duplicate_tag_is_an_inline_error(client):
    tag = unique("dup")
    create_limit(tag=tag, concurrency_limit=1)
    response = client.post("/limits/", {"tag": tag, "concurrency_limit": "5"})
    assert response.status_code == 400
    assert "already has a limit" in response.content.decode()
    assert selectors.get_limit_by_tag(tag).concurrency_limit == 1


def test_editing_a_limit_changes_it(client):
    limit, _ = create_limit(tag=unique("edit"), concurrency_limit=1)
    page = client.get(f"/limits/{limit.id}/edit/").content.decode()
    assert f'value="{limit.tag}"' in page
    new_tag = unique("edited")
    response = client.post(f"/limits/{limit.id}/edit/", {"tag": new_tag, "concurrency_limit": "7"})
    assert response.status_code == 302
    limit.refresh_from_db()
    assert (limit.tag, limit.concurrency_limit) == (new_tag, 7)
    bad = client.post(f"/limits/{limit.id}/edit/", {"tag": new_tag, "concurrency_limit": "-2"})
    assert bad.status_code == 400 and "cannot be negative" in bad.content.decode()


def test_delete_asks_first_then_deletes_on_post(client):
    limit, _ = create_limit(tag=unique("delete"), concurrency_limit=2)
    confirm = client.get(f"/limits/{limit.id}/delete/")
    assert confirm.status_code == 200 and "Delete the limit on" in confirm.content.decode()
    assert ConcurrencyLimit.objects.filter(id=limit.id).exists()
    response = client.post(f"/limits/{limit.id}/delete/")
    assert response.status_code == 302
    with pytest.raises(ObjectNotFound):
        selectors.get_limit_by_tag(limit.tag)


def test_inspect_shows_holders_and_usage(client):
    limit, _ = create_limit(tag=unique("inspect"), concurrency_limit=2)
    holder = make_task_run(make_flow_run(state="Running"), state="Running", name=unique("holder"))
    ConcurrencySlot.objects.create(limit=limit, task_run=holder, acquired=now())
    html = client.get(f"/limits/{limit.id}/").content.decode()
    assert holder.name in html and "Usage: 1 of 2" in html
    assert 'data-poll="live"' in html
    listing = client.get("/limits/").content.decode()
    assert 'aria-valuenow="1"' in listing and "width: 50%" in listing
