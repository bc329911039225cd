"""The reports' counting layer (`reports.query`) on a university of N students with five years of movements, against
hand-written SQL GROUP BYs over the same tables.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench_reports \\
        python -m bench.reports [--students 50000] [--repeat 5] [--keep]
    DATABASE_URL=sqlite:////tmp/registrar_bench_reports.sqlite3 python -m bench.reports

The database is wiped (PostgreSQL: the schema; SQLite: the file) and migrated, unless `--keep` measures the data
already there. The university of `bench.generate` (every course on 01.09.2020) is spread over five intakes: four
students in five enter course 1 on 1 September of 2021, 2022, 2023 or 2024 instead. Five years of movements go
through the real writer (`students.timeline.write_movements`, batched), each signed five days before it takes effect:
every 1 September 2021-2025 a promotion to the next course (next course's group) or, after the final course, a
graduation (expulsion, reason `graduation`, 30 June); one student in ten goes on medical leave for a year (February
to February); one in fifteen changes from a grant to paid studies; one in twenty moves to the same course of another
faculty's programme; one in eight is expelled (own request, academic failure or non-payment; November 2023), a third
of whom are restored in August 2024; a tenth of the expulsions are voided by a revocation. Then (VACUUM) ANALYZE.

Measured, each `--repeat` times interleaved with its bound (best of each; the machine is shared):

1. **contingent**: `contingent_counts(01.12.2025, ["faculty", "course"])` against one SQL statement (the window over
   `record_changes` as of the day, pivoted, joined to groups and programmes, GROUP BY faculty, course).
2. **movement**: `movement_counts` for the academic year 01.09.2024-31.08.2025 by faculty (its buckets: faculty ×
   kind) against one hand-written statement computing the same balance for faculty × kind (start and end counts,
   steps in and out by kind), tracking only the two fields a faculty needs (status and group).

The figures of ours and the bound must agree, or the benchmark stops. Statements per report are counted (they do not
grow with N). The last line is one JSON object with both ratios.
"""

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from sqlalchemy import event, select, text, update

from bench.generate import generate, make_app
from bench.timeline import _app
from core.db import db
from reports.query import contingent_counts, movement_counts
from students.models import Group, Programme, RecordChange, Student, StudentMovement
from students.timeline import write_movements

DAY = date(2025, 12, 1)
YEAR = (date(2024, 8, 31), date(2025, 8, 31))  # the balance of 01.09.2024-31.08.2025: start at the end of 31.08.2024
EXPELLED_ON = date(2023, 11, 15)
REASONS = ("own_request", "academic_failure", "non_payment")
BATCH = 20000
RESTORED = {"status": "active", "expulsion_reason": None, "funding": "paid"}
ON_LEAVE = {"leave_ground": [None, "medical"]}
BACK = {"status": ["academic_leave", "active"]}
TO_PAID = {"funding": ["grant", "paid"]}
EXPELLED = {"status": ["active", "expelled"]}

CONTINGENT_SQL = text(
    """
    WITH ranked AS (
        SELECT student_id, field, value,
               row_number() OVER (PARTITION BY student_id, field ORDER BY effective_date DESC, id DESC) AS rank
        FROM record_changes
        WHERE effective_date <= :day AND voided_at IS NULL AND field IN ('status', 'course', 'group_id')
    ), record AS (
        SELECT student_id,
               MAX(CASE WHEN field = 'status' THEN value END) AS status,
               MAX(CASE WHEN field = 'course' THEN value END) AS course,
               MAX(CASE WHEN field = 'group_id' THEN value END) AS group_id
        FROM ranked WHERE rank = 1 GROUP BY student_id
    )
    SELECT p.faculty_id, r.course, count(*) AS n
    FROM record r
    JOIN groups g ON g.id = CAST(r.group_id AS INTEGER)
    JOIN programmes p ON p.id = g.programme_id
    WHERE r.status IN ('active', 'academic_leave')
    GROUP BY p.faculty_id, r.course
    """
)

MOVEMENT_SQL = text(
    """
    WITH c AS (
        SELECT student_id, field, value, movement_id, effective_date, id,
               CASE WHEN effective_date <= :start THEN :start ELSE effective_date END AS day
        FROM record_changes
        WHERE effective_date <= :end AND voided_at IS NULL AND field IN ('status', 'group_id')
    ), r AS (
        SELECT student_id, field, value, movement_id, day,
               row_number() OVER (PARTITION BY student_id, field, day ORDER BY effective_date DESC, id DESC) AS rank
        FROM c
    ), d AS (
        SELECT student_id, day, MAX(movement_id) AS movement_id,
               MAX(CASE WHEN field = 'status' THEN 1 ELSE 0 END) AS set_status,
               MAX(CASE WHEN field = 'status' THEN value END) AS status,
               MAX(CASE WHEN field = 'group_id' THEN 1 ELSE 0 END) AS set_group,
               MAX(CASE WHEN field = 'group_id' THEN value END) AS group_id
        FROM r WHERE rank = 1 GROUP BY student_id, day
    ), n AS (
        SELECT d.*,
               SUM(set_status) OVER (PARTITION BY student_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS run_status,
               SUM(set_group) OVER (PARTITION BY student_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS run_group
        FROM d
    ), f AS (
        SELECT student_id, day, movement_id,
               MAX(status) OVER (PARTITION BY student_id, run_status) AS status,
               MAX(group_id) OVER (PARTITION BY student_id, run_group) AS group_id
        FROM n
    ), s AS (
        SELECT f.student_id, f.day, f.movement_id, p.faculty_id,
               CASE WHEN f.status IN ('active', 'academic_leave') THEN 1 ELSE 0 END AS inside
        FROM f JOIN groups g ON g.id = CAST(f.group_id AS INTEGER) JOIN programmes p ON p.id = g.programme_id
    ), t AS (
        SELECT s.*,
               COALESCE(LAG(inside) OVER (PARTITION BY student_id ORDER BY day), 0) AS prev_inside,
               LAG(faculty_id) OVER (PARTITION BY student_id ORDER BY day) AS prev_faculty_id,
               ROW_NUMBER() OVER (PARTITION BY student_id ORDER BY day DESC) AS last
        FROM s
    )
    SELECT 'start' AS part, faculty_id, '' AS kind, count(*) AS n FROM t
        WHERE day = :start AND inside = 1 GROUP BY faculty_id
    UNION ALL
    SELECT 'end', faculty_id, '', count(*) FROM t WHERE last = 1 AND inside = 1 GROUP BY faculty_id
    UNION ALL
    SELECT 'in', t.faculty_id, COALESCE(m.kind, 'enrolment'), count(*)
        FROM t LEFT JOIN student_movements m ON m.id = t.movement_id
        WHERE t.day > :start AND t.inside = 1 AND (t.prev_inside = 0 OR t.prev_faculty_id <> t.faculty_id)
        GROUP BY t.faculty_id, COALESCE(m.kind, 'enrolment')
    UNION ALL
    SELECT 'out', t.prev_faculty_id, COALESCE(m.kind, 'enrolment'), count(*)
        FROM t LEFT JOIN student_movements m ON m.id = t.movement_id
        WHERE t.day > :start AND t.prev_inside = 1 AND (t.inside = 0 OR t.prev_faculty_id <> t.faculty_id)
        GROUP BY t.prev_faculty_id, COALESCE(m.kind, 'enrolment')
    """
)


def _signed(day: date) -> datetime:
    return datetime.combine(day - timedelta(days=5), clock_time(6), tzinfo=UTC)


def _movement(student_id: int, kind: str, day: date, changes: dict, reason: str | None = None) -> dict:
    return {
        "student_id": student_id,
        "kind": kind,
        "effective_date": day,
        "changes": changes,
        "reason": reason,
        "known_since": _signed(day),
        "applied_at": _signed(day),
    }


def _groups() -> tuple[dict, dict, dict]:
    """Groups by id and by (programme, course, language), and for each group one of the same course and language in
    another faculty."""
    groups = db.session.execute(
        select(
            Group.id,
            Group.programme_id,
            Group.course,
            Group.language,
            Programme.duration_years,
            Programme.faculty_id,
        )
        .join(Programme, Programme.id == Group.programme_id)
        .order_by(Group.id)
    ).all()
    by_place = {(g.programme_id, g.course, g.language): g for g in groups}
    elsewhere = {}
    for g in groups:
        other = [
            h for h in groups if h.faculty_id != g.faculty_id and h.course == g.course and h.language == g.language
        ]
        if other:
            elsewhere[g.id] = other[0]
    return {g.id: g for g in groups}, by_place, elsewhere


def _shift_intake(students, by_id, by_place) -> dict[int, tuple[int, object]]:
    """Four students in five enter in a later year (01.09.2021-2024) into course 1: their enrolment rows are moved
    to that day and that group, by a few set-based UPDATEs (per year, per group, in chunks of ids).
    {student id: (first year, group)}."""
    start = {}
    by_year: dict[int, list[int]] = {}
    by_group: dict[int, list[int]] = {}
    for n, (student_id, group_id, _funding) in enumerate(students):
        group, year = by_id[group_id], 2020 + n % 5
        if year > 2020:
            group = by_place.get((group.programme_id, 1, group.language), group)
            by_year.setdefault(year, []).append(student_id)
            by_group.setdefault(group.id, []).append(student_id)
        start[student_id] = (year, group)
    table = RecordChange.__table__
    enrolment = table.c.movement_id.is_(None)

    def chunks(ids: list[int]):
        return (ids[i : i + 5000] for i in range(0, len(ids), 5000))

    for year, ids in by_year.items():
        for chunk in chunks(ids):
            where = (enrolment, table.c.student_id.in_(chunk))
            db.session.execute(update(table).where(*where).values(effective_date=date(year, 9, 1)))
            db.session.execute(update(table).where(*where, table.c.field == "course").values(value="1"))
    for group_id, ids in by_group.items():
        for chunk in chunks(ids):
            where = (enrolment, table.c.student_id.in_(chunk), table.c.field == "group_id")
            db.session.execute(update(table).where(*where).values(value=str(group_id)))
    return start


def _history(n: int, student_id: int, funding: str, first: int, group, by_place, elsewhere, add) -> None:
    """One student's movements from the year after `first` to 2025 (see the module's docstring)."""
    expelled = False
    for year in range(first + 1, 2026):
        if expelled:
            if n % 24 != 5 or year != 2024:
                return
            add(_movement(student_id, "restoration", date(2024, 8, 25), {"status": ["expelled", "active"]}), RESTORED)
            expelled = False
        if n % 10 == 0 and year == 2022:
            add(_movement(student_id, "academic_leave", date(2022, 2, 1), ON_LEAVE), {"status": "academic_leave"})
            add(_movement(student_id, "leave_return", date(2023, 2, 1), BACK), {"status": "active"})
        if n % 15 == 7 and year == 2023 and funding == "grant":
            add(_movement(student_id, "funding_change", date(2023, 10, 1), TO_PAID), {"funding": "paid"})
        if n % 8 == 5 and year == 2023:
            reason = REASONS[n % 3]
            add(
                _movement(student_id, "expulsion", EXPELLED_ON, EXPELLED, reason),
                {"status": "expelled", "expulsion_reason": reason, "funding": "none"},
            )
            expelled = True
            continue
        if n % 20 == 1 and year == 2024 and group.id in elsewhere:
            group = elsewhere[group.id]
            moved = {"group_id": group.id, "course": group.course}
            add(_movement(student_id, "transfer_within", date(2024, 1, 15), {"group": ["", ""]}), moved)
        if group.course >= group.duration_years:
            graduated = {"status": "expelled", "expulsion_reason": "graduation"}
            add(_movement(student_id, "expulsion", date(year, 6, 30), EXPELLED, "graduation"), graduated)
            return
        following = by_place.get((group.programme_id, group.course + 1, group.language))
        if following is None:
            return
        group = following
        promoted = {"course": group.course, "group_id": group.id}
        add(
            _movement(student_id, "promotion", date(year, 9, 1), {"course": [group.course - 1, group.course]}), promoted
        )


def fill_history() -> dict:
    """Later intakes and five years of movements for every student (see the module's docstring), written in
    batches; a tenth of the expulsions voided."""
    by_id, by_place, elsewhere = _groups()
    students = db.session.execute(select(Student.id, Student.group_id, Student.funding).order_by(Student.id)).all()
    start = _shift_intake(students, by_id, by_place)
    movements: list[dict] = []
    values: list[dict] = []
    written = Counter()

    def add(movement: dict, new: dict) -> None:
        movements.append(movement)
        values.append(new)
        written[movement["kind"]] += 1
        if len(movements) >= BATCH:
            write_movements(list(movements), list(values))
            movements.clear()
            values.clear()

    for n, (student_id, _group_id, funding) in enumerate(students):
        first, group = start[student_id]
        _history(n, student_id, funding, first, group, by_place, elsewhere, add)
    write_movements(movements, values)
    expelled = select(StudentMovement.id).where(
        StudentMovement.kind == "expulsion", StudentMovement.reason != "graduation", StudentMovement.id % 10 == 0
    )
    voided_at = datetime(2024, 1, 20, 6, tzinfo=UTC)
    ids = db.session.scalars(expelled).all()
    for first_id in range(0, len(ids), 5000):
        chunk = ids[first_id : first_id + 5000]
        db.session.execute(update(StudentMovement).where(StudentMovement.id.in_(chunk)).values(voided_at=voided_at))
        db.session.execute(update(RecordChange).where(RecordChange.movement_id.in_(chunk)).values(voided_at=voided_at))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
    return {"movements": sum(written.values()), "by_kind": dict(written), "voided": len(ids)}


class Statements:
    """Counts the statements sent to the database while active."""

    def __init__(self):
        self.n = 0

    def __call__(self, *_args, **_kwargs):
        self.n += 1


def timed(run, statements: Statements):
    before = statements.n
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result, statements.n - before


def ours_contingent() -> Counter:
    return Counter({(int(f), int(c)): n for (f, c), n in contingent_counts(DAY, ["faculty", "course"]).items()})


def bound_contingent() -> Counter:
    rows = db.session.execute(CONTINGENT_SQL, {"day": DAY}).all()
    return Counter({(int(f), int(c)): n for f, c, n in rows})


def ours_movement() -> Counter:
    found = movement_counts(*YEAR, ["faculty"])
    result = Counter()
    for (faculty,), n in found.on_start.items():
        result[("start", int(faculty), "")] += n
    for (faculty,), n in found.on_end.items():
        result[("end", int(faculty), "")] += n
    for ((faculty,), bucket), n in found.flows.items():
        result[(bucket.direction, int(faculty), bucket.kind)] += n
    return result


def bound_movement() -> Counter:
    rows = db.session.execute(MOVEMENT_SQL, {"start": YEAR[0], "end": YEAR[1]}).all()
    return Counter({(part, int(faculty), kind): n for part, faculty, kind, n in rows})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=50000, help="students (N)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each, interleaved; the best counts")
    parser.add_argument("--keep", action="store_true", help="measure the data already in the database")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("Set DATABASE_URL to a database the benchmark may wipe (PostgreSQL or an SQLite file).")
    app = make_app(url) if args.keep else _app(url)
    with app.app_context():
        if not args.keep:
            started = time.perf_counter()
            generate(args.students)
            written = fill_history()
            print(f"setup        {time.perf_counter() - started:8.1f} s  ({args.students} students, {written})")
        students = db.session.scalar(select(db.func.count()).select_from(Student))
        movements = db.session.scalar(select(db.func.count()).select_from(StudentMovement))
        statements = Statements()
        event.listen(db.engine, "before_cursor_execute", statements)
        figures = {}
        for name, ours, bound in (
            ("contingent", ours_contingent, bound_contingent),
            ("movement", ours_movement, bound_movement),
        ):
            ours_times, bound_times, queries = [], [], set()
            for _ in range(args.repeat):
                ours_s, ours_result, n = timed(ours, statements)
                db.session.rollback()
                bound_s, bound_result, _n = timed(bound, statements)
                db.session.rollback()
                if ours_result != bound_result:
                    diff = sorted(set(ours_result.items()) ^ set(bound_result.items()))[:10]
                    raise SystemExit(f"{name}: ours and the bound differ: {diff}")
                ours_times.append(ours_s)
                bound_times.append(bound_s)
                queries.add(n)
            figures[name] = (min(ours_times), min(bound_times), sorted(queries), len(ours_result))
            ours_s, bound_s, queries, cells = figures[name]
            print(
                f"{name:<12} ours {ours_s:7.3f} s  bound {bound_s:7.3f} s  ratio {ours_s / bound_s:5.2f}  "
                f"statements {queries}  figures {cells}"
            )
        event.remove(db.engine, "before_cursor_execute", statements)
        database = db.engine.dialect.name
    print(
        json.dumps(
            {
                "bench": "reports",
                "n": students,
                "movements": movements,
                "database": database,
                **{
                    f"{name}_{key}": value
                    for name, (ours_s, bound_s, _q, _c) in figures.items()
                    for key, value in (
                        ("ours_s", round(ours_s, 4)),
                        ("bound_s", round(bound_s, 4)),
                        ("ratio", round(ours_s / bound_s, 2)),
                    )
                },
            }
        )
    )


if __name__ == "__main__":
    main()
