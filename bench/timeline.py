"""The contingent on a date for N students through `students.history.contingent_on`, against one hand-written SQL
GROUP BY over the same tables.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench_timeline \\
        python -m bench.timeline [--students 20000] [--repeat 5]
    DATABASE_URL=sqlite:////tmp/registrar_bench_timeline.sqlite3 python -m bench.timeline

The database is wiped (PostgreSQL: the schema is dropped; SQLite: the file is deleted) and migrated. A university of N
students (bench.generate, enrolled from 01.09.2020) gets a timeline through the real writer
(`students.timeline.write_movements`, batched): a quarter of the students expelled from 15.11.2026, a tenth moved
from a grant to paid studies from 01.10.2026, and a fifth of those expulsions voided by a revocation signed later;
then (VACUUM) ANALYZE.

Ours: `contingent_on(01.12.2026)`, the rows grouped in Python into counts per faculty, course and status (what a
report does). The lower bound: one SQL statement computing the same counts in the database (the same window over
`record_changes`, GROUP BY faculty, course, status), on the same connection. Both `--repeat` times, interleaved; the
best of each is the figure (the machine is shared), and the counts must agree. The last line printed is one JSON
object: {"bench": "timeline", "n": N, "database": ..., "ours_s": ..., "bound_s": ..., "ratio": ...}.
"""

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from bench.generate import ensure_database, generate, make_app, reset_schema
from core.db import db
from students.history import contingent_on
from students.models import RecordChange, Student, StudentMovement
from students.timeline import write_movements

DAY = date(2026, 12, 1)
SIGNED = datetime(2026, 11, 10, 6, tzinfo=UTC)
REVOKED = datetime(2026, 11, 25, 6, tzinfo=UTC)

BOUND_SQL = text(
    """
    WITH ranked AS (
        SELECT student_id, field, value,
               row_number() OVER (PARTITION BY student_id, field ORDER BY effective_date DESC, id DESC) AS rank
        FROM record_changes
        WHERE effective_date <= :day AND voided_at IS NULL
    ), record AS (
        SELECT student_id,
               MAX(CASE WHEN field = 'status' THEN value END) AS status,
               MAX(CASE WHEN field = 'course' THEN value END) AS course,
               MAX(CASE WHEN field = 'group_id' THEN value END) AS group_id
        FROM ranked WHERE rank = 1 GROUP BY student_id
    )
    SELECT p.faculty_id, CAST(r.course AS INTEGER) AS course, r.status, count(*) AS n
    FROM record r
    JOIN groups g ON g.id = CAST(r.group_id AS INTEGER)
    JOIN programmes p ON p.id = g.programme_id
    WHERE r.status IS NOT NULL
    GROUP BY p.faculty_id, CAST(r.course AS INTEGER), r.status
    """
)


def _app(url: str):
    """The app on `url` with an empty, migrated database."""
    if make_url(url).get_backend_name() == "sqlite":
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        app = make_app(url)
        with app.app_context():
            upgrade()
            db.session.remove()
        return app
    ensure_database(url)
    app = make_app(url)
    with app.app_context():
        reset_schema()
    return app


def fill_timeline() -> dict:
    """Expulsions, funding changes and voided expulsions through the real writer; the counts written."""
    students = db.session.execute(select(Student.id, Student.funding).order_by(Student.id)).all()
    movements, values = [], []
    for n, (student_id, funding) in enumerate(students):
        if n % 4 == 0:
            movements.append(_movement(student_id, "expulsion", date(2026, 11, 15), {"status": ["active", "expelled"]}))
            values.append({"status": "expelled", "expulsion_reason": "own_request", "funding": "none"})
        elif n % 10 == 1 and funding == "grant":
            movements.append(_movement(student_id, "funding_change", date(2026, 10, 1), {"funding": ["grant", "paid"]}))
            values.append({"funding": "paid"})
    write_movements(movements, values)
    voided = [row for n, row in enumerate(movements) if row["kind"] == "expulsion" and n % 5 == 0]
    ids = db.session.scalars(
        select(StudentMovement.id).where(
            StudentMovement.kind == "expulsion", StudentMovement.student_id.in_([m["student_id"] for m in voided])
        )
    ).all()
    db.session.execute(update(StudentMovement).where(StudentMovement.id.in_(ids)).values(voided_at=REVOKED))
    db.session.execute(update(RecordChange).where(RecordChange.movement_id.in_(ids)).values(voided_at=REVOKED))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
    return {"movements": len(movements), "voided": len(ids)}


def _movement(student_id: int, kind: str, effective: date, changes: dict) -> dict:
    return {
        "student_id": student_id,
        "kind": kind,
        "effective_date": effective,
        "changes": changes,
        "known_since": SIGNED,
        "applied_at": SIGNED,
    }


def ours() -> tuple[float, Counter]:
    started = time.perf_counter()
    counts = Counter((row.faculty_id, row.course, row.status) for row in contingent_on(DAY))
    return time.perf_counter() - started, counts


def bound() -> tuple[float, Counter]:
    started = time.perf_counter()
    rows = db.session.execute(BOUND_SQL, {"day": DAY}).all()
    elapsed = time.perf_counter() - started
    return elapsed, Counter({(faculty, course, status): n for faculty, course, status, n in rows})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20000, help="students (N)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each, interleaved; the best counts")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("Set DATABASE_URL to a database the benchmark may wipe (PostgreSQL or an SQLite file).")
    app = _app(url)
    with app.app_context():
        started = time.perf_counter()
        generate(args.students)
        written = fill_timeline()
        print(f"setup      {time.perf_counter() - started:8.3f} s  ({args.students} students, {written})")
        ours_times, bound_times = [], []
        expected = None
        for _ in range(args.repeat):
            ours_s, ours_counts = ours()
            db.session.rollback()
            bound_s, bound_counts = bound()
            db.session.rollback()
            if ours_counts != bound_counts:
                raise SystemExit(f"the counts differ: ours {sorted(ours_counts.items())[:5]}..., bound ...")
            expected = ours_counts
            ours_times.append(ours_s)
            bound_times.append(bound_s)
        ours_s, bound_s = min(ours_times), min(bound_times)
        total = sum(expected.values())
        print(f"ours       {ours_s:8.3f} s  (contingent_on + grouping in Python, {total} students on {DAY})")
        print(f"bound      {bound_s:8.3f} s  (one SQL GROUP BY, {len(expected)} groups)")
        database = db.engine.dialect.name
    print(
        json.dumps(
            {
                "bench": "timeline",
                "n": args.students,
                "database": database,
                "ours_s": round(ours_s, 4),
                "bound_s": round(bound_s, 4),
                "ratio": round(ours_s / bound_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
