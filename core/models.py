"""Users, their roles and scopes, and API tokens."""

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, false, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import db, utcnow

ROLES = ("clerk", "dean", "registrar", "lawyer", "finance", "rector", "admin")
LANGUAGES = ("kk", "ru", "en")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("language", LANGUAGES), name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    # Faculty scope of a dean (or a faculty-bound clerk). The faculties table lives in `students`; the
    # foreign key names it by table so that `core` never imports a floor above it.
    faculty_id: Mapped[int | None] = mapped_column(ForeignKey("faculties.id"))
    language: Mapped[str] = mapped_column(String(2), default="ru")
    is_active_user: Mapped[bool] = mapped_column(default=True)
    # Set when an admin resets the password: the login sends the user to choose a new one before anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_user

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once. It works until it expires or is
    revoked, and only while its user is active."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if _aware(self.expires_at) <= utcnow() else "active"


class UserSession(db.Model):
    """A signed-in browser. The session cookie holds only a random key whose SHA-256 is stored here, so signing out
    (or deactivating the user) ends the session at once, even for a copy of the cookie."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def create_user(
    username: str,
    password: str,
    full_name: str,
    roles: list[str] | tuple[str, ...],
    *,
    faculty_id: int | None = None,
    email: str | None = None,
    position: str = "",
    language: str = "ru",
) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}; known: {', '.join(ROLES)}")
    if "dean" in roles and faculty_id is None:
        raise ValueError("a dean needs a faculty")
    user = User(
        username=username,
        full_name=full_name,
        faculty_id=faculty_id,
        email=email,
        position=position,
        language=language,
    )
    user.set_password(password)
    user.role_rows = [UserRole(role=r) for r in roles]
    db.session.add(user)
    return user


TOKEN_DAYS = 90  # how long a new API token works unless told otherwise


def issue_token(user: User, name: str = "", days: int = TOKEN_DAYS) -> str:
    """Create a bearer token for `user` valid for `days` and return it; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id, token_hash=hash_token(token), name=name[:100], expires_at=utcnow() + timedelta(days=days)
        )
    )
    return token


def user_for_token(token: str) -> User | None:
    """The active user whose unexpired, unrevoked token this is (noting when it was used), or None."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.state != "active" or not row.user.is_active:
        return None
    row.last_used_at = utcnow()
    return row.user


def revoke_token(token: ApiToken) -> None:
    """`token` stops working at once (revoking it again changes nothing)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def revoke_tokens(user: User) -> int:
    """Revoke every token of `user` still working; the number revoked."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return result.rowcount


def start_session(user: User) -> str:
    """A new session of `user`; the key goes into the session cookie, its hash into the database."""
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, key_hash=hash_token(key)))
    return key


def user_for_session(user_id: int, key: str | None) -> User | None:
    """The active user whose open session has this key, or None (signed out, ended, or never started)."""
    if not key:
        return None
    row = db.session.scalar(
        select(UserSession).where(
            UserSession.key_hash == hash_token(key), UserSession.user_id == user_id, UserSession.ended_at.is_(None)
        )
    )
    user = db.session.get(User, user_id) if row is not None else None
    return user if user is not None and user.is_active else None


def end_sessions(user: User, key: str | None = None) -> None:
    """End the session with `key`, or every open session of `user` when no key is given."""
    condition = UserSession.user_id == user.id
    if key is not None:
        condition &= UserSession.key_hash == hash_token(key)
    db.session.execute(update(UserSession).where(condition, UserSession.ended_at.is_(None)).values(ended_at=utcnow()))


def deactivate(user: User) -> None:
    """`user` can no longer sign in or use the API: their sessions end and their tokens are revoked at once."""
    user.is_active_user = False
    end_sessions(user)
    revoke_tokens(user)


class Substitution(db.Model):
    """`substitute` acts for `principal` from `starts_on` to `ends_on` inclusive (a dean on leave, say)."""

    __tablename__ = "substitutions"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="dates"),
        CheckConstraint("principal_id <> substitute_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    principal: Mapped[User] = relationship(foreign_keys=[principal_id], lazy="joined")
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id], lazy="joined")


def principals_of(substitute: User, on: date) -> list[User]:
    """The users `substitute` acts for on day `on`."""
    return list(
        db.session.scalars(
            select(User)
            .join(Substitution, Substitution.principal_id == User.id)
            .where(
                Substitution.substitute_id == substitute.id,
                Substitution.starts_on <= on,
                Substitution.ends_on >= on,
                User.is_active_user.is_(True),
            )
            .order_by(User.id)
        )
    )


def substitutes_for(substitute: User, principal: User, on: date) -> bool:
    return any(p.id == principal.id for p in principals_of(substitute, on))
