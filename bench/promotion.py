"""Year-end course promotion of N students, the whole cycle, and the signing step against plain SQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_h1 \\
        python -m bench.promotion --students 20000

The database is wiped and migrated. Two cohorts of N students (bench.generate), spread alike over every group; the
final-year students are moved to course 1 (final years are not promoted). Every programme gets a curriculum of 8
disciplines x 5 credits per semester, every student a grade in each discipline of the current course's two
semesters (points 50-100, one in 25 students one FX, one in 100 seven FX: 35 credits, over the 30 allowed for a
repeat year), all written set-based in SQL. Then, for cohort 1 (cohort 2 is set on academic leave meanwhile):

- ours, the whole cycle, each step committed as a request would: `orders.promotion.draft_promotion` for the whole
  university (SQL statements counted), `split_refused` (repeat-year and expulsion drafts), submit, each dean's visa,
  the registrar's visa, and the rector's signature (`fire(order, "sign")`, timed on its own as the apply step).
- bound: cohort 2 is drafted, split and visaed the same way, then signed by plain SQL in one transaction: number,
  order row, visa, audit, one `UPDATE order_lines` for the applied changes (next group found by a join), one
  `INSERT ... SELECT` for the movements, one set-based `UPDATE students ... FROM`, the outbox `INSERT ... SELECT`,
  and a minimal DOCX with the same item texts.

Last line: {"bench": "promotion", "n": N, "cycle_s": ..., "sign_s": ..., "bound_s": ..., "ratio": ...,
"draft_queries": ...}.
"""

import argparse
import hashlib
import json
import time
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import text

from bench.generate import database_url, ensure_database, generate, make_app, reset_schema
from bench.sign_expulsion import BOUND_SQL, QueryCounter, minimal_docx
from core.db import db
from core.models import User, create_user
from orders import promotion as bulk
from orders.kinds import get_kind
from orders.models import Order
from orders.numbering import format_number
from workflow.engine import fire

YEAR = "2025-2026"
RAW = {"academic_year": YEAR, "effective_date": "2026-09-01",
       "basis": "Итоги летней экзаменационной сессии, представления деканов факультетов"}

SETUP_SQL = [
    # final-year students to course 1 of the same programme and language
    """UPDATE students s SET group_id = g1.id, course = 1 FROM groups g, programmes p, groups g1
       WHERE s.group_id = g.id AND p.id = g.programme_id AND g.course = p.duration_years
         AND g1.programme_id = g.programme_id AND g1.course = 1 AND g1.language = g.language""",
    """INSERT INTO curriculum_items (programme_id, semester, code, name_kk, name_ru, name_en, credits)
       SELECT p.id, sem, 'D' || sem || '-' || n, 'Пән ' || sem || '-' || n, 'Дисциплина ' || sem || '-' || n,
              'Course ' || sem || '-' || n, 5
       FROM programmes p, generate_series(1, 14) sem, generate_series(1, 8) n WHERE sem <= 2 * p.duration_years""",
    """INSERT INTO grades (student_id, discipline_code, discipline_name, semester, academic_year, points, letter,
                           grade_point, credits, is_retake, created_at)
       SELECT s.id, c.code, c.name_ru, c.semester, :year, x.points,
              CASE WHEN x.points >= 95 THEN 'A' WHEN x.points >= 90 THEN 'A-' WHEN x.points >= 85 THEN 'B+'
                   WHEN x.points >= 80 THEN 'B' WHEN x.points >= 75 THEN 'B-' WHEN x.points >= 70 THEN 'C+'
                   WHEN x.points >= 65 THEN 'C' WHEN x.points >= 60 THEN 'C-' WHEN x.points >= 55 THEN 'D+'
                   WHEN x.points >= 50 THEN 'D' WHEN x.points >= 25 THEN 'FX' ELSE 'F' END,
              CASE WHEN x.points >= 95 THEN 4.0 WHEN x.points >= 90 THEN 3.67 WHEN x.points >= 85 THEN 3.33
                   WHEN x.points >= 80 THEN 3.0 WHEN x.points >= 75 THEN 2.67 WHEN x.points >= 70 THEN 2.33
                   WHEN x.points >= 65 THEN 2.0 WHEN x.points >= 60 THEN 1.67 WHEN x.points >= 55 THEN 1.33
                   WHEN x.points >= 50 THEN 1.0 WHEN x.points >= 25 THEN 0.5 ELSE 0 END,
              c.credits, false, now()
       FROM students s JOIN groups g ON g.id = s.group_id
       JOIN curriculum_items c ON c.programme_id = g.programme_id AND c.semester IN (2 * s.course - 1, 2 * s.course)
       CROSS JOIN LATERAL (SELECT CASE
            WHEN s.id % 100 = 0 AND c.semester = 2 * s.course - 1 AND right(c.code, 1)::int <= 7 THEN 40
            WHEN s.id % 25 = 0 AND c.semester = 2 * s.course AND right(c.code, 1) = '1' THEN 40
            ELSE 62 + ((s.id * 7 + c.id * 13) % 39) END AS points) x""",
    "ANALYZE",
]

# The bound's own statements for promotion (the rest comes from bench.sign_expulsion.BOUND_SQL).
NEXT_GROUP = """(SELECT n.id FROM groups n WHERE n.programme_id = g.programme_id AND n.course = s.course + 1
                 AND n.language = g.language AND n.study_form = g.study_form ORDER BY n.name LIMIT 1)"""
PROMOTION_SQL = {
    "applied": f"""UPDATE order_lines l SET
        applied_changes = json_build_object('course', json_build_array(s.course, s.course + 1),
                                            'group', json_build_array(g.name, ng.name)),
        record_before = json_build_object('course', s.course, 'group_id', s.group_id)
        FROM students s JOIN groups g ON g.id = s.group_id JOIN groups ng ON ng.id = {NEXT_GROUP}
        WHERE l.order_id = :order AND s.id = l.student_id""",
    "movements": "INSERT INTO student_movements (student_id, order_line_id, kind, effective_date, changes, reason, "
                 "order_label, created_at) SELECT l.student_id, l.id, :kind, l.effective_date, l.applied_changes, "
                 "NULL, :label, :now FROM order_lines l WHERE l.order_id = :order ORDER BY l.position",
    "students": f"""UPDATE students s SET course = s.course + 1, group_id = {NEXT_GROUP}
        FROM order_lines l, groups g WHERE l.order_id = :order AND s.id = l.student_id AND g.id = s.group_id""",
    "lines": "SELECT l.id, l.params, l.effective_date, s.surname, s.name, s.patronymic, s.iin, s.course, s.funding, "
             "g.name, g.language, g.study_form, p.code, p.name_ru, p.name_kk, l.applied_changes FROM order_lines l "
             "JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
             "JOIN programmes p ON p.id = g.programme_id WHERE l.order_id = :order ORDER BY l.position",
}


def _line_view(row) -> SimpleNamespace:
    (line_id, params, effective, surname, name, patronymic, iin, course, funding, group_name, language,
     study_form, programme_code, name_ru, name_kk, applied) = row
    programme = SimpleNamespace(code=programme_code, name_ru=name_ru, name_kk=name_kk)
    group = SimpleNamespace(name=group_name, language=language, study_form=study_form, programme=programme)
    student = SimpleNamespace(full_name=" ".join(p for p in (surname, name, patronymic) if p), iin=iin,
                              course=course, funding=funding, group=group)
    return SimpleNamespace(id=line_id, params=params, effective_date=effective, student=student,
                           applied_changes=applied)


def sign_bound(order_id: int, signer_id: int) -> float:
    """Sign the promotion `order_id` with plain SQL in one transaction; returns the seconds taken."""
    config = current_app.config
    sql = {**BOUND_SQL, **PROMOTION_SQL}
    with db.engine.connect() as connection:
        started = time.perf_counter()
        with connection.begin():
            def run(name: str, **values):
                return connection.execute(text(sql[name]), values)

            kind_name, title, series, round_, route_version = run("lock", order=order_id).one()
            today = datetime.now(ZoneInfo(config["TIMEZONE"])).date()
            now = datetime.now(ZoneInfo("UTC"))
            number = run("number", year=today.year, series=series).scalar_one()
            label = format_number(number, series, today.year)
            run("order", order=order_id, year=today.year, number=number, label=label, today=today, now=now,
                signer=signer_id)
            run("visa", order=order_id, round=round_, signer=signer_id, now=now)
            run("audit", order=order_id, signer=signer_id, route_version=route_version, now=now)
            run("applied", order=order_id)
            kind = get_kind(kind_name)
            lines = [_line_view(row) for row in run("lines", order=order_id)]  # as the order found them
            items_ru = [kind.item_text(line, "ru") for line in lines]
            items_kk = [kind.item_text(line, "kk") for line in lines]
            run("movements", order=order_id, kind=kind_name, label=label, now=now)
            run("students", order=order_id)
            run("outbox", order=order_id, template=f"{kind.email_template}", label=label,
                date_text=today.strftime("%d.%m.%Y"), title=title, university_ru=config["UNIVERSITY_RU"],
                university_kk=config["UNIVERSITY_KK"], now=now, ids=[line.id for line in lines],
                items_ru=items_ru, items_kk=items_kk)
            visas = [f"{role} {name} {decision} {at:%d.%m.%Y}" for role, name, decision, at
                     in run("visas_read", order=order_id)]
            content = minimal_docx([config["UNIVERSITY_KK"], config["UNIVERSITY_RU"], "БҰЙРЫҚ / ПРИКАЗ",
                                    f"№ {label} {today:%d.%m.%Y}", kind.title_kk, title, kind.preamble_kk,
                                    "БҰЙЫРАМЫН:", *(f"{n}. {item}" for n, item in enumerate(items_kk, 1)),
                                    kind.preamble_ru, "ПРИКАЗЫВАЮ:",
                                    *(f"{n}. {item}" for n, item in enumerate(items_ru, 1)), *visas])
            run("document", order=order_id, filename=f"order-{label}.docx".replace("/", "-"), content=content,
                sha256=hashlib.sha256(content).hexdigest(), now=now)
        return time.perf_counter() - started


def set_cohort_status(ids: list[int], status: str) -> None:
    db.session.execute(text("UPDATE students SET status = :status WHERE id = ANY(:ids)"),
                       {"status": status, "ids": ids})
    db.session.commit()


def to_signature(order_id: int, uni, registrar_id: int) -> dict:
    """Split, submit and every visa, each committed in a fresh session; the time of each step."""
    times = {}
    db.session.remove()
    order, clerk = db.session.get(Order, order_id), db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    repeat, expulsion = bulk.split_refused(order, clerk)
    db.session.commit()
    times["split_s"] = time.perf_counter() - started
    times["moved"] = {"repeat_year": len(repeat.lines) if repeat else 0,
                      "expulsion": len(expulsion.lines) if expulsion else 0}
    db.session.remove()
    order = db.session.get(Order, order_id)
    started = time.perf_counter()
    fire(order, "submit", db.session.get(User, uni.clerk_id))
    db.session.commit()
    for faculty_id in sorted(order.faculty_ids):
        fire(order, "approve", db.session.get(User, uni.dean_ids[faculty_id]))
        db.session.commit()
    fire(order, "approve", db.session.get(User, registrar_id))
    db.session.commit()
    times["submit_visas_s"] = time.perf_counter() - started
    if order.state != "awaiting_signature":
        raise SystemExit(f"order is {order.state} after the visas, not awaiting_signature")
    db.session.remove()
    return times


def draft(uni, counter: QueryCounter) -> tuple[int, float, dict, dict]:
    db.session.remove()
    clerk = db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    with counter.counting() as queries:
        order = bulk.draft_promotion(clerk, RAW)
    db.session.commit()
    elapsed = time.perf_counter() - started
    return order.id, elapsed, queries, bulk.summary(order)


def verify(order_id: int) -> int:
    """Every line's student is on the next course in a group of that course; returns the number of lines."""
    lines, wrong = db.session.execute(text(
        "SELECT count(*), count(*) FILTER (WHERE s.course <> (l.applied_changes->'course'->>1)::int "
        "OR g.course <> s.course OR g.name <> l.applied_changes->'group'->>1) "
        "FROM order_lines l JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
        "WHERE l.order_id = :order"), {"order": order_id}).one()
    movements = db.session.scalar(text("SELECT count(*) FROM student_movements m JOIN order_lines l "
                                       "ON l.id = m.order_line_id WHERE l.order_id = :order"), {"order": order_id})
    if wrong or movements != lines:
        raise SystemExit(f"order {order_id}: {wrong} students not where the line says, {movements} movements "
                         f"for {lines} lines")
    db.session.rollback()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20000, help="students per cohort (N)")
    args = parser.parse_args(argv)
    n = args.students
    url = database_url()
    ensure_database(url)
    app = make_app(url)
    with app.app_context():
        reset_schema()
        counter = QueryCounter()
        started = time.perf_counter()
        uni = generate(n, cohorts=2)
        registrar = create_user("registrar", "bench", "Регистратор", ["registrar"])
        db.session.commit()
        registrar_id = registrar.id
        for statement in SETUP_SQL:
            db.session.execute(text(statement), {"year": YEAR} if ":year" in statement else {})
        db.session.commit()
        grades = db.session.scalar(text("SELECT count(*) FROM grades"))
        print(f"generate   {time.perf_counter() - started:8.3f} s  (2 x {n} students, {grades} grades)")
        ours_cohort, bound_cohort = uni.cohorts

        set_cohort_status(bound_cohort, "academic_leave")
        cycle_started = time.perf_counter()
        ours_id, draft_s, draft_queries, counts = draft(uni, counter)
        print(f"draft      {draft_s:8.3f} s  ({n} lines: {counts}; {draft_queries['executions']} executions, "
              f"{draft_queries['statements']} statements)")
        times = to_signature(ours_id, uni, registrar_id)
        print(f"split      {times['split_s']:8.3f} s  (moved {times['moved']})")
        print(f"submit     {times['submit_visas_s']:8.3f} s  (submit, {len(uni.dean_ids)} deans, registrar)")
        db.session.remove()
        order, rector = db.session.get(Order, ours_id), db.session.get(User, uni.rector_id)
        with counter.counting() as sign_queries:
            started = time.perf_counter()
            fire(order, "sign", rector)
            db.session.commit()
            sign_s = time.perf_counter() - started
        cycle_s = time.perf_counter() - cycle_started
        promoted = verify(ours_id)
        print(f"sign       {sign_s:8.3f} s  ({promoted} students promoted; {sign_queries['executions']} executions)")
        print(f"cycle      {cycle_s:8.3f} s  (draft + split + submit + visas + sign)")

        set_cohort_status(ours_cohort, "academic_leave")
        set_cohort_status(bound_cohort, "active")
        bound_id, _draft_s, bound_queries, _counts = draft(uni, counter)
        to_signature(bound_id, uni, registrar_id)
        bound_s = sign_bound(bound_id, uni.rector_id)
        bound_lines = verify(bound_id)
        print(f"bound      {bound_s:8.3f} s  (plain SQL + zipped XML for {bound_lines} lines; its draft: "
              f"{bound_queries['executions']} executions)")
    print(json.dumps({"bench": "promotion", "n": n, "lines": promoted, "cycle_s": round(cycle_s, 3),
                      "sign_s": round(sign_s, 3), "bound_s": round(bound_s, 3), "ratio": round(sign_s / bound_s, 2),
                      "draft_s": round(draft_s, 3), "draft_queries": draft_queries["executions"]}))


if __name__ == "__main__":
    main()
