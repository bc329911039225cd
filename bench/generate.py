"""A university of N students for benchmarks: database setup, faculties, programmes, groups, students, users.

Reusable by every benchmark:

    url = database_url()                 # DATABASE_URL, PostgreSQL only
    ensure_database(url)                 # CREATE DATABASE when missing
    app = make_app(url)
    with app.app_context():
        reset_schema()                   # drop everything, run the Alembic migrations
        uni = generate(2000, cohorts=2)  # two cohorts of 2,000 students spread alike over the same groups

`python -m bench.generate --students N` fills the database and stops (for poking at it by hand).
"""

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from core.db import db
from core.models import create_user
from registrar.app import create_app
from registrar.demo import FACULTIES, PROGRAMMES, student_rows
from students.models import Faculty, Group, Programme, Student
from students.timeline import enrol

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench"


def database_url() -> str:
    """DATABASE_URL, refused with a clear message unless it names a PostgreSQL database."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit(
            f"Set DATABASE_URL to a PostgreSQL database the benchmark may wipe, e.g.\n"
            f"  DATABASE_URL={DEFAULT_URL} python -m {_caller()}"
        )
    if make_url(url).get_backend_name() != "postgresql":
        sys.exit(
            f"DATABASE_URL must name a PostgreSQL database (the figures are for production); got "
            f"{make_url(url).get_backend_name()!r}. Example: {DEFAULT_URL}"
        )
    return url


def _caller() -> str:
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None) or "bench.sign_expulsion"


def ensure_database(url: str) -> None:
    """Create the database named by `url` when it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def make_app(url: str) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "BROKER_URL": "stub"})


def reset_schema() -> None:
    """Drop every table and build the schema from the migrations (as the tests do). Needs an app context."""
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade()
    db.session.remove()


@contextmanager
def wiped_app() -> Iterator[Flask]:
    """The app on DATABASE_URL (created when missing), inside its app context, the schema reset."""
    url = database_url()
    ensure_database(url)
    app = make_app(url)
    with app.app_context():
        reset_schema()
        yield app


@dataclass
class University:
    faculty_ids: list[int]
    group_ids: list[int]
    cohorts: list[list[int]]  # student ids; cohort k holds students k*N .. (k+1)*N-1, spread alike over groups
    clerk_id: int = 0
    rector_id: int = 0
    dean_ids: dict[int, int] = field(default_factory=dict)  # faculty id -> dean's user id


def generate(students: int, cohorts: int = 1, seed: int = 2026) -> University:
    """Faculties, programmes and groups of the demo university, `cohorts` x `students` students inserted in
    batches, a clerk, a rector and one dean per faculty (password `bench`). Commits."""
    faculties = {code: Faculty(code=code, name_kk=kk, name_ru=ru, name_en=en) for code, kk, ru, en in FACULTIES}
    db.session.add_all(faculties.values())
    programmes = [
        Programme(
            code=code, name_kk=kk, name_ru=ru, name_en=en, level=level, duration_years=years, faculty=faculties[faculty]
        )
        for faculty, code, kk, ru, en, level, years in PROGRAMMES
    ]
    db.session.add_all(programmes)
    db.session.flush()
    groups = []
    for programme in programmes:
        for course in range(1, programme.duration_years + 1):
            for language in ("kk", "ru") if programme.level == "bachelor" else ("ru",):
                groups.append(
                    Group(
                        name=f"{programme.code}-{26 - course}{'К' if language == 'kk' else 'Р'}",
                        programme_id=programme.id,
                        course=course,
                        language=language,
                        study_form="full_time",
                    )
                )
    db.session.add_all(groups)
    db.session.flush()

    # One call for every cohort, so that IINs are unique across cohorts; cohort k is a contiguous slice whose
    # students fall on the groups in the same round-robin order as every other cohort's.
    rows = student_rows(groups, students * cohorts, seed=seed)
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Student), rows[start : start + 5000])
    enrol(None, on=date(2020, 9, 1))
    ids = list(db.session.scalars(select(Student.id).order_by(Student.id)))

    clerk = create_user("clerk", "bench", "Сапарова Гульмира Ержановна", ["clerk"], email="clerk@bench.kz")
    rector = create_user("rector", "bench", "Жумагулов Бакытжан Турсынович", ["rector"], position="Ректор")
    deans = {
        faculty.id: create_user(
            f"dean_{code.lower()}",
            "bench",
            f"Декан {code}",
            ["dean"],
            faculty_id=faculty.id,
            position=f"Декан ({faculty.name_ru})",
        )
        for code, faculty in faculties.items()
    }
    db.session.flush()
    uni = University(
        faculty_ids=[f.id for f in faculties.values()],
        group_ids=[g.id for g in groups],
        cohorts=[ids[k * students : (k + 1) * students] for k in range(cohorts)],
        clerk_id=clerk.id,
        rector_id=rector.id,
        dean_ids={f: u.id for f, u in deans.items()},
    )
    db.session.commit()
    return uni


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fill DATABASE_URL (wiped first) with a university of N students.")
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--cohorts", type=int, default=1)
    args = parser.parse_args(argv)
    with wiped_app():
        started = time.perf_counter()
        uni = generate(args.students, args.cohorts)
        print(
            f"generated {len(uni.faculty_ids)} faculties, {len(uni.group_ids)} groups, "
            f"{args.students * args.cohorts} students, users clerk, rector, "
            f"{len(uni.dean_ids)} deans (password: bench) in {time.perf_counter() - started:.2f} s"
        )


if __name__ == "__main__":
    main()
