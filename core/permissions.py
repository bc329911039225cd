"""Permission primitives. Every view names who may use it; nothing is open by default."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def roles_required(*roles: str) -> Callable:
    """Login required, and the user must hold one of `roles`; otherwise 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def any_user(view: Callable) -> Callable:
    """Any signed-in user; the view itself scopes what it shows."""
    wrapped = login_required(view)
    wrapped.required_roles = ("*",)
    return wrapped


def public(view: Callable) -> Callable:
    """Marks a view that needs no login (login page, health check). Checked by the URL-map test."""
    view.is_public = True
    return view
