"""The admin account `runs up` creates on first start."""

from __future__ import annotations

import stat

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction

from runs import conf
from runs.services.admin_account import ensure_admin_account, sign_in_message


class _Rollback(Exception):
    pass


@pytest.fixture
def no_superusers():
    """Run the test as on a new database: no superusers; everything rolled back after."""
    User = get_user_model()
    with pytest.raises(_Rollback), transaction.atomic():
        User.objects.filter(is_superuser=True).update(is_superuser=False)
        User.objects.filter(username="admin").delete()
        yield
        raise _Rollback


def test_first_start_generates_a_password_only_the_owner_can_read(no_superusers, tmp_path):
    with conf.override(RUNS_HOME=tmp_path, RUNS_ADMIN_PASSWORD=None):
        username, password, created = ensure_admin_account()
        assert (username, created) == ("admin", True) and password
        path = tmp_path / "admin-password"
        assert path.read_text().strip() == password
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert authenticate(username="admin", password=password).is_superuser
        again = ensure_admin_account()
        assert again == ("admin", password, False)
        assert str(path) in sign_in_message(*again)


def test_the_password_can_come_from_the_environment(no_superusers, tmp_path):
    with conf.override(RUNS_HOME=tmp_path, RUNS_ADMIN_PASSWORD="chosen-secret"):
        username, password, created = ensure_admin_account()
        assert created and password == "chosen-secret"
        assert not (tmp_path / "admin-password").exists()
        assert authenticate(username="admin", password="chosen-secret") is not None
        assert "RUNS_ADMIN_PASSWORD" in sign_in_message(username, password, created)
