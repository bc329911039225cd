"""Fixtures: the app built once on a fresh, migrated database; every test in a rolled-back transaction;
factories for faculties, groups, students, users and orders.

The database is SQLite in a temporary folder unless DATABASE_URL names another (CI runs the suite again on
PostgreSQL). Tests that need real commits seen by other threads use `committed` and clean up after themselves.
"""

import contextvars
import itertools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from flask import g, request_started
from flask.testing import FlaskClient
from flask_babel import refresh
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, delete, text

from core.db import db
from core.models import User, create_user
from orders import operations
from orders.models import Order
from orders.operations import apply_due_effects
from registrar.app import create_app
from students.iin import make_iin
from students.models import Faculty, Group, Programme, RecordChange, Student
from students.timeline import enrol
from workflow.audit import set_history_guards
from workflow.engine import fire, legal_triggers, pending_approvals

IN_CI = os.environ.get("CI") == "true"
ENROLLED_ON = date(2020, 9, 1)  # the factory's students are on the timeline from this day


def _reset_schema() -> None:
    engine = db.engine
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registrar")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'test.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "test",
            "MAILBOX_DIR": str(folder / "mailbox"),
            "BROKER_URL": "stub",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing for test users; production uses scrypt
            "BABEL_DEFAULT_LOCALE": "en",  # tests read English messages unless they switch language
        }
    )
    with app.app_context():
        _reset_schema()
        upgrade()  # the schema comes from the migrations, so they are tested too
    request_started.connect(_forget_request_state, app)
    return app


def _forget_request_state(sender, **extra) -> None:
    """Fixtures keep one app context across a test's requests; a browser would not carry the signed-in user or
    the chosen locale from one request to the next in `g`, so neither do the tests."""
    g.pop("_login_user", None)
    refresh()


class _ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's `get_bind` picks the engine even when the session is bound to a connection; keep every
    statement on the test's connection so that a view's commit stays inside the rolled-back transaction."""

    def get_bind(self, *args, **kwargs):
        return self.bind if isinstance(self.bind, Connection) else super().get_bind(*args, **kwargs)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file in WAL mode (SQLite's online backup, not a file copy)."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


def _cli_app_on(folder: Path):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'cli.sqlite3'}",
            "SECRET_KEY": "test",
            "MAILBOX_DIR": str(folder / "mailbox"),
        }
    )


@pytest.fixture(scope="session")
def cli_database(tmp_path_factory) -> Path:
    """A SQLite file migrated once per run by the `registrar db upgrade` command; each `cli_app` gets a copy."""
    from registrar.cli import main

    folder = tmp_path_factory.mktemp("cli")
    app = _cli_app_on(folder)
    result = app.test_cli_runner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return folder / "cli.sqlite3"


@pytest.fixture
def cli_app(tmp_path, cli_database):
    """A separate app on its own migrated SQLite file, with a CLI runner: the commands tested there commit."""
    copy_sqlite(cli_database, tmp_path / "cli.sqlite3")
    app = _cli_app_on(tmp_path)
    return app, app.test_cli_runner()


def rolled_back_session(app) -> Iterator:
    """An app context whose db.session runs inside a transaction rolled back at the end (the `session` fixture; a
    module whose tests only read may hold one for all its tests)."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _ConnectionBoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def session(app):
    """An app context whose db.session runs inside a transaction rolled back after the test."""
    yield from rolled_back_session(app)


def wipe_tables(connection: Connection) -> None:
    """Delete every row, the append-only history too (its guards are off for this transaction only).

    On PostgreSQL, switching the guards off needs the history tables to itself: a connection some earlier test left
    idle inside a transaction would hold it up forever, so such connections are ended first, and a lock still not
    granted within a minute fails the test instead of hanging the run."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
        connection.execute(text("SET LOCAL lock_timeout = '60s'"))
    set_history_guards(connection, on=False)
    for table in reversed(db.metadata.sorted_tables):
        connection.execute(table.delete())
    set_history_guards(connection, on=True)


@pytest.fixture
def committed(app):
    """An app context with real commits (for worker threads and concurrent connections); wipes data after."""
    with app.app_context():
        yield db.session
        db.session.remove()
        db.engine.dispose()  # connections another test may have left behind are not reused
        with db.engine.begin() as connection:
            wipe_tables(connection)


class RequestClient(FlaskClient):
    """Runs every request in a fresh context, as a server does: its own app context, `g` and database session (on
    the test's connection). A view that rolls back then undoes only its own work, not the test's setup rows."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app, session):
    return RequestClient(app, app.response_class, use_cookies=True)


_serial = itertools.count(1)


class Factory:
    """Builds the rows a test needs, with sensible defaults; every row is flushed so it has an id."""

    def faculty(self, code: str | None = None) -> Faculty:
        n = next(_serial)
        code = code or f"F{n}"
        faculty = Faculty(
            code=code, name_kk=f"{code} факультеті", name_ru=f"Факультет {code}", name_en=f"Faculty {code}"
        )
        db.session.add(faculty)
        db.session.flush()
        return faculty

    def group(
        self, faculty: Faculty | None = None, course: int = 2, language: str = "ru", study_form: str = "full_time"
    ) -> Group:
        faculty = faculty or self.faculty()
        n = next(_serial)
        programme = Programme(
            code=f"6B{n:05d}",
            name_kk=f"Бағдарлама {n}",
            name_ru=f"Программа {n}",
            name_en=f"Programme {n}",
            level="bachelor",
            duration_years=4,
            faculty_id=faculty.id,
        )
        db.session.add(programme)
        db.session.flush()
        group = Group(
            name=f"G{n}-{course}", programme_id=programme.id, course=course, language=language, study_form=study_form
        )
        db.session.add(group)
        db.session.flush()
        return group

    def student(
        self,
        group: Group | None = None,
        *,
        status: str = "active",
        funding: str = "grant",
        surname: str = "Ахметов",
        name: str = "Нурлан",
        email: str | None = "",
        female: bool | None = None,
    ) -> Student:
        """A student; female when `female` says so or, left None, when the surname is a woman's (-ова, -ева, -ина):
        the IIN's sex digit and the patronymic agree with the name, as the documents' wording needs."""
        group = group or self.group()
        if female is None:
            female = surname.endswith(("ова", "ева", "ина", "ая"))
        iin = None
        while iin is None:
            iin = make_iin(date(2004, 3, 15), not female, next(_serial) + 5000)
        student = Student(
            iin=iin,
            surname=surname,
            name=name,
            patronymic="Сериковна" if female else "Серикович",
            email=f"s{iin}@students.test" if email == "" else email,
            group_id=group.id,
            course=group.course,
            status=status,
            funding=funding,
        )
        db.session.add(student)
        db.session.flush()
        enrol([student.id], on=ENROLLED_ON)
        return student

    def user(self, role: str, faculty: Faculty | None = None, username: str | None = None) -> User:
        username = username or f"{role}{next(_serial)}"
        user = create_user(
            username,
            "secret",
            f"{role.title()} {username}",
            [role],
            faculty_id=faculty.id if faculty else None,
            email=f"{username}@staff.test",
            language="en",
        )  # tests read English pages unless they switch
        db.session.flush()
        return user

    def order(
        self,
        author: User,
        students: list[Student],
        *,
        reason: str = "own_request",
        effective_date: str = "2026-12-01",
        basis: str = "Заявления обучающихся",
    ) -> Order:
        order = operations.create_order(
            "expulsion", author, {"reason": reason, "effective_date": effective_date, "basis": basis}
        )
        if students:
            operations.add_students(order, [s.id for s in students], author)
        return order


@pytest.fixture
def make(session) -> Factory:
    return Factory()


def build_uni(make: Factory) -> type:
    """Two faculties with a group each, a clerk, a dean per faculty and the rector."""

    class Uni:
        fa = make.faculty("FA")
        fb = make.faculty("FB")
        ga = make.group(fa)
        gb = make.group(fb)
        clerk = make.user("clerk", username="clerk_t")
        dean_a = make.user("dean", fa, username="dean_a")
        dean_b = make.user("dean", fb, username="dean_b")
        rector = make.user("rector", username="rector_t")
        registrar = make.user("registrar", username="registrar_t")
        lawyer = make.user("lawyer", username="lawyer_t")
        finance = make.user("finance", username="finance_t")
        admin = make.user("admin", username="admin_t")

    return Uni


@pytest.fixture
def uni(make):
    """Two faculties with a group each, a clerk, a dean per faculty and the rector."""
    return build_uni(make)


def take_effect_by(day: date | str) -> dict:
    """Run the scheduler's pass as on `day`: the signed effects due by then reach the records. For tests whose orders
    take effect after the real today and that go on from the changed record."""
    result = apply_due_effects(date.fromisoformat(day) if isinstance(day, str) else day)
    db.session.flush()
    db.session.expire_all()
    return result


def enrol_again(student: Student) -> None:
    """Put `student` on the timeline anew with the record as it is now, for a test that set it by hand."""
    db.session.flush()
    db.session.execute(delete(RecordChange).where(RecordChange.student_id == student.id))
    enrol([student.id], on=ENROLLED_ON)


def visa_until_signature(order: Order, people) -> None:
    """Give every visa the order's route still needs, each from the first of `people` (a `uni`, or a list of
    users) who may give it, until the order awaits the rector's signature."""
    users = (
        people
        if isinstance(people, list | tuple)
        else [getattr(people, name) for name in dir(people) if isinstance(getattr(people, name), User)]
    )
    while order.state.startswith("review_"):
        before = (order.state, len(pending_approvals(order)))
        for user in users:
            if "approve" in legal_triggers(order, user):
                fire(order, "approve", user)
                break
        assert (order.state, len(pending_approvals(order))) != before, f"nobody in {users} can visa {order.state}"


def sign(order: Order, people) -> None:
    """Submit if still a draft, give every visa, and sign with the first rector in `people`."""
    users = (
        people
        if isinstance(people, list | tuple)
        else [getattr(people, name) for name in dir(people) if isinstance(getattr(people, name), User)]
    )
    if order.state == "draft":
        fire(order, "submit", order.author)
    visa_until_signature(order, users)
    fire(order, "sign", next(u for u in users if u.has_role("rector") and u.id != order.author_id))


def login(client, user: User | str, password: str = "secret"):
    client.post("/logout")
    username = user if isinstance(user, str) else user.username
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, f"login as {username} failed"
    return response
