"""The roles as groups: what each holds, kept current by every migrate; accounts made before
the roles become Viewers; the first account of `runs up` is an Admin."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, transaction

from runs import conf, roles
from runs.services.admin_account import ensure_admin_account
from tests.runs.api.seed import unique

ROLE_MIGRATION = importlib.import_module("runs.migrations.0006_roles")


class _Rollback(Exception):
    pass


@pytest.fixture
def rolled_back():
    """Whatever the test does to users and groups is undone after it."""
    with pytest.raises(_Rollback), transaction.atomic():
        yield
        raise _Rollback


def _held(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_each_role_holds_the_ones_below_it_and_its_own():
    viewer, operator, admin = _held("Viewer"), _held("Operator"), _held("Admin")

    assert viewer == {"runs.view_history"}
    assert operator == {"runs.view_history", "runs.operate_flows"}
    assert {"limits.manage_limits", "runs.manage_accounts"} <= admin
    assert admin == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("viewer", {roles.VIEW}, {roles.OPERATE, roles.MANAGE_LIMITS, roles.MANAGE_ACCOUNTS}),
        ("operator", {roles.VIEW, roles.OPERATE}, {roles.MANAGE_LIMITS, roles.MANAGE_ACCOUNTS}),
        ("admin", {roles.VIEW, roles.OPERATE, roles.MANAGE_LIMITS, roles.MANAGE_ACCOUNTS}, set()),
    ],
)
def test_a_user_with_a_role_has_exactly_its_permissions(role, allowed, refused):
    user = get_user_model().objects.create_user(username=unique(role))

    roles.set_role(user, role)

    assert all(user.has_perm(p) for p in allowed)
    assert not any(user.has_perm(p) for p in refused)
    assert roles.role_of(user) == role.capitalize()
    assert user.is_staff == (role == "admin")  # Admins open /admin/ for users and tokens


def test_set_role_replaces_the_previous_role():
    user = get_user_model().objects.create_user(username=unique("moved"))
    roles.set_role(user, "admin")

    roles.set_role(user, "viewer")

    assert list(user.groups.values_list("name", flat=True)) == ["Viewer"]
    assert not user.is_staff and not user.has_perm(roles.OPERATE)


def test_an_unknown_role_names_the_choices():
    user = get_user_model().objects.create_user(username=unique("odd"))

    with pytest.raises(roles.RoleError, match="choose one of viewer, operator, admin"):
        roles.set_role(user, "owner")


def test_ensure_roles_is_idempotent_and_restores_a_changed_group(rolled_back):
    Group.objects.get(name="Viewer").permissions.add(
        Permission.objects.get(codename="operate_flows")
    )
    Group.objects.get(name="Operator").delete()

    roles.ensure_roles()
    roles.ensure_roles()

    assert _held("Viewer") == {"runs.view_history"}
    assert _held("Operator") == {"runs.view_history", "runs.operate_flows"}
    assert Group.objects.filter(name__in=roles.ROLES).count() == 3


def test_every_migrate_brings_the_groups_back_to_their_roles(rolled_back):
    Group.objects.get(name="Viewer").permissions.add(
        Permission.objects.get(codename="manage_limits")
    )

    call_command("migrate", verbosity=0, interactive=False)

    assert _held("Viewer") == {"runs.view_history"}


def test_the_upgrade_makes_accounts_without_a_role_viewers(rolled_back):
    User = get_user_model()
    plain = User.objects.create_user(username=unique("before-roles"))
    boss = User.objects.create_superuser(username=unique("boss"), password=None)
    team = Group.objects.create(name=unique("team"))
    member = User.objects.create_user(username=unique("member"))
    member.groups.add(team)

    # What the migration function reads of its schema editor: the connection.
    ROLE_MIGRATION.existing_users_become_viewers(apps, SimpleNamespace(connection=connection))

    assert list(plain.groups.values_list("name", flat=True)) == ["Viewer"]
    assert plain.has_perm(roles.VIEW) and not plain.has_perm(roles.OPERATE)
    assert not boss.groups.exists()  # superusers have everything already
    assert list(member.groups.values_list("name", flat=True)) == [team.name]


def test_the_first_account_of_runs_up_is_an_admin_and_a_superuser(rolled_back, tmp_path):
    User = get_user_model()
    User.objects.filter(is_superuser=True).update(is_superuser=False)
    User.objects.filter(username="admin").delete()

    with conf.override(RUNS_HOME=tmp_path, RUNS_ADMIN_PASSWORD="first-admin-pw"):
        username, _, created = ensure_admin_account()

    account = User.objects.get(username=username)
    assert created and account.is_superuser and account.is_staff
    assert list(account.groups.values_list("name", flat=True)) == ["Admin"]
    assert roles.role_of(account) == "Admin"
