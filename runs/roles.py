"""The three roles, Viewer, Operator and Admin, as Django groups holding permissions.

The dashboard, the REST API and the CLI ask ``user.has_perm(...)`` for one of
:data:`VIEW`, :data:`OPERATE`, :data:`MANAGE_LIMITS` or :data:`MANAGE_ACCOUNTS` (declared in
the models' Meta). Each role holds the permissions of the ones below it; an Admin holds every
permission of the project and is staff, so /admin/ lets them manage users and tokens.
Superusers have every permission whatever their groups. :func:`ensure_roles` runs after every
``migrate`` (``post_migrate``, see runs/apps.py), so the groups always hold what is listed here.
"""

from __future__ import annotations

VIEW = "runs.view_history"
OPERATE = "runs.operate_flows"
MANAGE_LIMITS = "limits.manage_limits"
MANAGE_ACCOUNTS = "runs.manage_accounts"

VIEWER = "Viewer"
OPERATOR = "Operator"
ADMIN = "Admin"

#: Role name -> the permissions it holds ("app_label.codename"); lowest role first. The Admin
#: also holds every other permission in the database (see :func:`ensure_roles`).
ROLES: dict[str, tuple[str, ...]] = {
    VIEWER: (VIEW,),
    OPERATOR: (VIEW, OPERATE),
    ADMIN: (VIEW, OPERATE, MANAGE_LIMITS, MANAGE_ACCOUNTS),
}

#: What each permission lets a user do, as the start of a sentence refusing it.
ACTIONS: dict[str, str] = {
    VIEW: "Reading flows, runs, logs, limits and the cache",
    OPERATE: "Starting and cancelling flow runs and expiring cache entries",
    MANAGE_LIMITS: "Creating, changing and deleting concurrency limits, work queues and deployments",
    MANAGE_ACCOUNTS: "Managing users and API tokens",
}


class RoleError(ValueError):
    """A role name that is not one of Viewer, Operator, Admin; the message lists them."""


def role_name(value: str) -> str:
    """The role ``value`` names, case-insensitively ("operator" -> "Operator")."""
    for name in ROLES:
        if name.lower() == str(value).strip().lower():
            return name
    choices = ", ".join(name.lower() for name in ROLES)
    raise RoleError(f"Unknown role {value!r}; choose one of {choices}.")


def role_needed(permission: str) -> str:
    """The lowest role holding ``permission`` (Admin for any permission not listed)."""
    for name, permissions in ROLES.items():
        if permission in permissions:
            return name
    return ADMIN


def refusal(permission: str, username: str | None = None) -> str:
    """Why a user without ``permission`` is refused, and how to get it."""
    role = role_needed(permission)
    action = ACTIONS.get(permission, "This")
    how = f" (`runs user set-role {username} {role.lower()}`)" if username else ""
    return f"{action} needs the {role} role; ask an Admin to give it to you{how}."


def _permissions(labels):
    """Permission rows for "app_label.codename" strings (those that exist)."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    query = Q(pk__in=[])
    for label in labels:
        app_label, codename = label.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query)


def ensure_roles(using: str = "default") -> None:
    """Create the three groups, or bring their permissions back to :data:`ROLES`; idempotent.

    Every app's permissions are created first, so this may run before Django's own
    ``post_migrate`` handler has reached the last app.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    for name, labels in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = Permission.objects.using(using) if name == ADMIN else _permissions(labels)
        wanted_ids = set(wanted.values_list("pk", flat=True))
        if set(group.permissions.values_list("pk", flat=True)) != wanted_ids:
            group.permissions.set(wanted_ids)


def role_of(user) -> str | None:
    """The highest role of ``user`` (Admin for a superuser), or None when they have none."""
    if getattr(user, "is_superuser", False):
        return ADMIN
    if not getattr(user, "pk", None):
        return None
    return highest_role(user.groups.filter(name__in=ROLES).values_list("name", flat=True))


def highest_role(group_names) -> str | None:
    """The highest role among ``group_names`` (None when none is a role)."""
    names = set(group_names)
    return next((name for name in reversed(ROLES) if name in names), None)


def set_role(user, role: str) -> str:
    """Give ``user`` exactly one role (replacing their other roles); returns the role's name.

    Admins are staff (so /admin/ opens for them); the other roles are not, unless the user is
    a superuser, who keeps everything.
    """
    from django.contrib.auth.models import Group

    name = role_name(role)
    group = Group.objects.filter(name=name).first()
    if group is None:  # a database migrated before the roles existed, or a test's own
        ensure_roles()
        group = Group.objects.get(name=name)
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=name))
    user.groups.add(group)
    staff = name == ADMIN or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    # Django caches a user's permissions on the object; the next check must see the new role.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return name
