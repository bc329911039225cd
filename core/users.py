"""User administration: the password policy and the operations behind the admin's user pages and the CLI.

Every change is announced on the `user_changed` signal (sender: the acting user, None for the command line) in the
caller's transaction; the audit log (`workflow.audit`, a floor above) records it there, so `core` needs no import
from above.
"""

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.errors import InvalidInput
from core.models import ROLES, User, UserRole, create_user, deactivate, end_sessions

MIN_PASSWORD_LENGTH = 10
# The most common passwords of at least 10 characters (published breach lists), in lower case.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0987654321",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou12",
        "admin12345",
        "administrator",
        "welcome123",
        "zxcvbnm123",
        "qazwsxedcrfv",
        "asdfghjkl1",
        "parol12345",
        "registrar1",
        "university",
    }
)

_signals = Namespace()
user_changed = _signals.signal("user-changed")  # sender: the actor (or None); action, user, data


class PolicyError(InvalidInput):
    """Input the user administration refuses, by field: {field: message}."""


def password_problem(password: str, username: str) -> str | None:
    """Why `password` may not be used by `username`, or None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if password.isdigit():
        return _("Use letters or symbols too, not only digits.")
    if username and username.lower() in password.lower():
        return _("The password must not contain the username.")
    if password.lower() in COMMON_PASSWORDS:
        return _("This password is one of the most common ones; choose another.")
    return None


def _check_password(password: str, username: str, field: str = "password") -> None:
    problem = password_problem(password, username)
    if problem:
        raise PolicyError({field: problem})


def _check_roles(roles: list[str], faculty_id: int | None) -> None:
    if not roles:
        raise PolicyError({"roles": _("Choose at least one role.")})
    if set(roles) - set(ROLES):
        raise PolicyError({"roles": _("Unknown role.")})
    if "dean" in roles and faculty_id is None:
        raise PolicyError({"faculty_id": _("A dean needs a faculty.")})


def _announce(actor: User | None, action: str, user: User, **data) -> None:
    db.session.flush()  # the new user's id
    user_changed.send(actor, action=action, user=user, data=data)


def add_user(
    actor: User | None,
    username: str,
    password: str,
    full_name: str,
    roles: list[str],
    *,
    faculty_id: int | None = None,
    email: str | None = None,
    position: str = "",
    must_change_password: bool = True,
) -> User:
    """Create an account under the password policy; by default its user must choose a new password at first
    sign-in (the admin knows this one)."""
    username = username.strip()
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise PolicyError({"username": _("This username is taken.")})
    _check_roles(roles, faculty_id)
    _check_password(password, username)
    user = create_user(username, password, full_name, roles, faculty_id=faculty_id, email=email, position=position)
    user.must_change_password = must_change_password
    _announce(actor, "user.created", user, roles=sorted(roles), faculty_id=faculty_id)
    return user


def update_user(
    actor: User,
    user: User,
    *,
    full_name: str,
    roles: list[str],
    faculty_id: int | None,
    email: str | None,
    position: str,
) -> None:
    """Change a user's name, contact, roles and faculty scope; an admin cannot take away their own admin role."""
    _check_roles(roles, faculty_id)
    if user.id == actor.id and "admin" not in roles:
        raise PolicyError({"roles": _("You cannot remove your own admin role.")})
    before = {"roles": sorted(user.roles), "faculty_id": user.faculty_id, "full_name": user.full_name}
    user.full_name, user.email, user.position, user.faculty_id = full_name, email, position, faculty_id
    if set(roles) != user.roles:
        added = [UserRole(role=role) for role in sorted(set(roles) - user.roles)]
        user.role_rows = [row for row in user.role_rows if row.role in roles] + added
    after = {"roles": sorted(roles), "faculty_id": faculty_id, "full_name": full_name}
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changed:
        _announce(actor, "user.updated", user, changed=changed)


def deactivate_user(actor: User | None, user: User) -> None:
    """Sessions end and tokens stop at once (`core.models.deactivate`)."""
    if actor is not None and user.id == actor.id:
        raise PolicyError({"user": _("You cannot deactivate your own account.")})
    if user.is_active_user:
        deactivate(user)
        _announce(actor, "user.deactivated", user)


def reactivate_user(actor: User, user: User) -> None:
    """The user may sign in again; old sessions and tokens stay ended."""
    if not user.is_active_user:
        user.is_active_user = True
        _announce(actor, "user.reactivated", user)


def reset_password(actor: User, user: User, password: str) -> None:
    """Set a temporary password: the user's sessions end and they must choose a new one at next sign-in."""
    _check_password(password, user.username)
    user.set_password(password)
    user.must_change_password = True
    end_sessions(user)
    _announce(actor, "user.password_reset", user)


def change_own_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password proves it is them; the new one follows the policy."""
    if not user.check_password(current):
        raise PolicyError({"current": _("This is not your current password.")})
    _check_password(new, user.username, field="new")
    if new == current:
        raise PolicyError({"new": _("Choose a password different from the current one.")})
    user.set_password(new)
    user.must_change_password = False
    _announce(user, "user.password_changed", user)
