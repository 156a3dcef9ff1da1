"""Accounts and their roles: what ``runs user create | set-role | ls`` does.

Every account has one of the roles of :mod:`runs.roles` (Viewer, Operator, Admin). Passwords
go through the project's validators; an account made without one can only use API tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from runs import roles


class UserError(ValueError):
    """An account that cannot be made or changed as asked; the message says what to do."""


@dataclass(frozen=True)
class Account:
    """One account as ``runs user ls`` shows it."""

    username: str
    role: str | None
    is_superuser: bool
    is_active: bool
    last_login: datetime | None


def _role(role: str) -> str:
    try:
        return roles.role_name(role)
    except roles.RoleError as exc:
        raise UserError(str(exc)) from None


def _get(username: str):
    username = (username or "").strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise UserError(
            f"No user is named {username!r}. `runs user ls` lists them; "
            f"`runs user create {username or 'NAME'} --role viewer` makes one."
        )
    return user


def create_user(*, username: str, role: str, password: str | None):
    """Make an account with ``role``; ``password`` None makes one that signs in by token only."""
    User = get_user_model()
    name = _role(role)
    username = (username or "").strip()
    if not username:
        raise UserError("Give the new user's name, e.g. `runs user create alice --role viewer`.")
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise UserError(
            f"{username!r} is not a valid user name: {' '.join(exc.messages)}"
        ) from None
    if User.objects.filter(username=username).exists():
        raise UserError(
            f"A user named {username!r} already exists; change their role with "
            f"`runs user set-role {username} ROLE`."
        )
    if password is not None:
        try:
            validate_password(password, User(username=username))
        except ValidationError as exc:
            raise UserError(f"The password was refused: {' '.join(exc.messages)}") from None
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        roles.set_role(user, name)
    return user


def set_user_role(*, username: str, role: str):
    """Give the user ``role`` instead of the one they had; returns the user."""
    name = _role(role)
    user = _get(username)
    with transaction.atomic():
        roles.set_role(user, name)
    return user


def list_users() -> list[Account]:
    """Every account by name, with its role (None: no role, so no access)."""
    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    accounts = []
    for user in users:
        role = roles.highest_role(group.name for group in user.groups.all())
        accounts.append(
            Account(
                username=user.get_username(),
                role=roles.ADMIN if user.is_superuser else role,
                is_superuser=user.is_superuser,
                is_active=user.is_active,
                last_login=user.last_login,
            )
        )
    return accounts
