"""Who may call an endpoint: the project's default permission class (REST_FRAMEWORK settings).

Reading (GET, HEAD, OPTIONS) needs the Viewer's permission; writing needs the permission the
view names in its ``write_permission`` attribute (``"runs.operate_flows"``...). A view that
names none refuses every write: a new endpoint is read-only until it says otherwise.
Anonymous requests get 401, signed-in users without the permission a 403 whose detail names
the role they lack.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from runs import roles


def required_permission(request, view) -> str | None:
    """The permission ``request`` needs on ``view``; None when no permission allows it."""
    if request.method in SAFE_METHODS:
        return roles.VIEW
    return getattr(view, "write_permission", None)


class HasRolePermission(BasePermission):
    """Signed in, and holding the view's read or write permission (see the module's text)."""

    def has_permission(self, request, view) -> bool:  # noqa: D102
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 with the authenticator's challenge
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405, listing the methods it has
        permission = required_permission(request, view)
        if permission is None:
            self.message = f"{request.method} is not allowed here by any role."
            return False
        if user.has_perm(permission):
            return True
        username = user.get_username() if hasattr(user, "get_username") else None
        self.message = roles.refusal(permission, username)
        return False
