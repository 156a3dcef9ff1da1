"""The admin account `runs up` creates on first start, so a new user can sign in at once."""

from __future__ import annotations

import secrets

from runs import conf
from runs.private_files import private_dir, write_private
from runs.roles import ADMIN, set_role

ADMIN_USERNAME = "admin"
PASSWORD_FILE = "admin-password"


def ensure_admin_account() -> tuple[str, str | None, bool]:
    """Create the superuser "admin", in the Admin role, unless any superuser exists:
    (username, password, created).

    The password is RUNS_ADMIN_PASSWORD, or a generated one written to RUNS_HOME/admin-password
    (readable by its owner only). ``password`` is None when no account was created and no
    generated password file is there to point to.
    """
    from django.contrib.auth import get_user_model

    User = get_user_model()
    path = conf.settings.RUNS_HOME / PASSWORD_FILE
    existing = User.objects.filter(username=ADMIN_USERNAME).first()
    if existing is not None or User.objects.filter(is_superuser=True).exists():
        password = path.read_text().strip() if existing is not None and path.exists() else None
        return (existing.username if existing else ADMIN_USERNAME), password, False
    password = conf.settings.RUNS_ADMIN_PASSWORD
    if not password:
        password = secrets.token_urlsafe(12)
        private_dir(path.parent)
        write_private(path, (password + "\n").encode(), durable=True)
    account = User.objects.create_superuser(ADMIN_USERNAME, email="", password=password)
    set_role(account, ADMIN)  # a superuser has every permission anyway; the group says its role
    return ADMIN_USERNAME, password, True


def sign_in_message(username: str, password: str | None, created: bool) -> str:
    """What `runs up` prints about signing in."""
    path = conf.settings.RUNS_HOME / PASSWORD_FILE
    if created and conf.settings.RUNS_ADMIN_PASSWORD:
        return (
            f"Created the admin account: sign in as {username!r} with the password in "
            "RUNS_ADMIN_PASSWORD."
        )
    if created:
        return (
            f"Created the admin account: sign in as {username!r} with password {password} "
            f"(also kept in {path}, readable only by you)."
        )
    if password:
        return f"Sign in as {username!r}; the password is in {path}."
    return "Sign in with your admin account (add one with `runs user create NAME --role admin`)."
