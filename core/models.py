"""Users, their roles and scopes, and API tokens."""

import hashlib
import secrets
from datetime import date, datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, select
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
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def issue_token(user: User) -> str:
    """Create a bearer token for `user` and return it; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or not row.user.is_active:
        return None
    return row.user


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
