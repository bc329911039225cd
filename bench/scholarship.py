"""A state scholarship order for N students, the whole cycle, and the signing step against plain SQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_s1 \\
        python -m bench.scholarship --students 10000

The database is wiped and migrated. Two cohorts of N students (bench.generate), all on a state grant and spread alike
over every group; an academic calendar for 2026-2027; every student gets 8 grades of 5 credits in the winter
session (semester 2*course-1 of 2026-2027; points 60-100, one in 25 students one FX), one in 50 a category (orphan),
all written set-based in SQL. Then, for cohort 1 (cohort 2 is on academic leave meanwhile, so out of scope):

- ours: `orders.scholarship.draft_scholarship` for the whole university (SQL statements counted), submit, each
  dean's visa, the registrar's and the finance visa, and the rector's signature (`fire(order, "sign")`, timed on its
  own as the apply step).
- bound: cohort 2 is drafted and visaed the same way, then signed by plain SQL in one transaction: number, order
  row, visa, audit, one `UPDATE order_lines` for the applied changes, one `INSERT ... SELECT` of the movements, the
  outbox `INSERT ... SELECT`, and a minimal DOCX with the same item and appendix texts (nothing in `students`: a
  scholarship changes no student column).

Last line: {"bench": "scholarship", "n": N, "lines": ..., "in": ..., "cycle_s": ..., "sign_s": ..., "bound_s": ...,
"ratio": ..., "draft_s": ..., "draft_queries": ...}.
"""

import argparse
import hashlib
import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import text

from bench.generate import database_url, ensure_database, generate, make_app, reset_schema
from bench.promotion import _line_view, set_cohort_status
from bench.sign_expulsion import BOUND_SQL, QueryCounter, minimal_docx
from core.db import db
from core.models import User, create_user
from orders import scholarship as bulk
from orders.kinds import get_kind
from orders.models import Order
from orders.numbering import format_number
from workflow.engine import fire

YEAR = "2026-2027"
RAW = {"academic_year": YEAR, "semester": 2, "effective_date": "2027-02-01",
       "basis": "Итоги зимней экзаменационной сессии, протокол стипендиальной комиссии"}

SETUP_SQL = [
    "UPDATE students SET funding = 'grant'",
    """INSERT INTO academic_calendars (year, first_semester_start, first_session_start, first_session_end,
           first_semester_end, winter_holidays_start, winter_holidays_end, second_semester_start,
           second_session_start, second_session_end, second_semester_end, summer_holidays_start, summer_holidays_end)
       VALUES ('2026-2027', '2026-09-01', '2027-01-05', '2027-01-20', '2027-01-24', '2027-01-25', '2027-02-05',
               '2027-02-06', '2027-06-01', '2027-06-20', '2027-06-30', '2027-07-01', '2027-08-31')""",
    """INSERT INTO grades (student_id, discipline_code, discipline_name, semester, academic_year, points, letter,
                           grade_point, credits, is_retake, created_at)
       SELECT s.id, 'D' || n, 'Дисциплина ' || n, 2 * s.course - 1, :year, x.points,
              CASE WHEN x.points >= 95 THEN 'A' WHEN x.points >= 90 THEN 'A-' WHEN x.points >= 85 THEN 'B+'
                   WHEN x.points >= 80 THEN 'B' WHEN x.points >= 75 THEN 'B-' WHEN x.points >= 70 THEN 'C+'
                   WHEN x.points >= 65 THEN 'C' WHEN x.points >= 60 THEN 'C-' WHEN x.points >= 55 THEN 'D+'
                   WHEN x.points >= 50 THEN 'D' WHEN x.points >= 25 THEN 'FX' ELSE 'F' END,
              CASE WHEN x.points >= 95 THEN 4.0 WHEN x.points >= 90 THEN 3.67 WHEN x.points >= 85 THEN 3.33
                   WHEN x.points >= 80 THEN 3.0 WHEN x.points >= 75 THEN 2.67 WHEN x.points >= 70 THEN 2.33
                   WHEN x.points >= 65 THEN 2.0 WHEN x.points >= 60 THEN 1.67 WHEN x.points >= 55 THEN 1.33
                   WHEN x.points >= 50 THEN 1.0 WHEN x.points >= 25 THEN 0.5 ELSE 0 END,
              5, false, now()
       FROM students s CROSS JOIN generate_series(1, 8) n
       CROSS JOIN LATERAL (SELECT CASE WHEN s.id % 25 = 0 AND n = 1 THEN 40
                                       WHEN s.id % 3 = 0 THEN 90 + (s.id + n) % 11
                                       ELSE 60 + ((s.id * 7 + n * 13) % 41) END AS points) x""",
    """INSERT INTO student_categories (student_id, category, document, valid_from, created_at)
       SELECT id, 'orphan', 'Свидетельство № ' || id, '2015-01-01', now() FROM students WHERE id % 50 = 0""",
    "ANALYZE",
]

# The bound's own statements (the rest comes from bench.sign_expulsion.BOUND_SQL via bench.promotion.sign_bound).
SCHOLARSHIP_SQL = {
    "applied": """UPDATE order_lines l SET
        applied_changes = CASE WHEN l.params->>'outcome' = 'in'
            THEN json_build_object('scholarship', json_build_array(NULL, (l.params->>'amount')::int))
            ELSE '{}'::json END,
        record_before = '{}'::json
        WHERE l.order_id = :order""",
    "movements": "INSERT INTO student_movements (student_id, order_line_id, kind, effective_date, changes, reason, "
                 "order_label, created_at) SELECT l.student_id, l.id, :kind, l.effective_date, l.applied_changes, "
                 "NULL, :label, :now FROM order_lines l WHERE l.order_id = :order ORDER BY l.position",
    "lines": "SELECT l.id, l.params, l.effective_date, s.surname, s.name, s.patronymic, s.iin, s.course, s.funding, "
             "g.name, g.language, g.study_form, p.code, p.name_ru, p.name_kk, l.applied_changes FROM order_lines l "
             "JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
             "JOIN programmes p ON p.id = g.programme_id WHERE l.order_id = :order ORDER BY l.position",
}


def sign_bound(order_id: int, signer_id: int) -> float:
    """Sign the scholarship order `order_id` with plain SQL in one transaction; returns the seconds taken."""
    config = current_app.config
    sql = {**BOUND_SQL, **SCHOLARSHIP_SQL}
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
            lines = [_line_view(row) for row in run("lines", order=order_id)]
            items_ru = [kind.item_text(line, "ru") for line in lines]
            items_kk = [kind.item_text(line, "kk") for line in lines]
            appendix_ru = [text_ for line in lines if (text_ := kind.appendix_text(line, "ru")) is not None]
            appendix_kk = [text_ for line in lines if (text_ := kind.appendix_text(line, "kk")) is not None]
            run("movements", order=order_id, kind=kind_name, label=label, now=now)
            run("outbox", order=order_id, template=f"{kind.email_template}", label=label,
                date_text=today.strftime("%d.%m.%Y"), title=title, university_ru=config["UNIVERSITY_RU"],
                university_kk=config["UNIVERSITY_KK"], now=now, ids=[line.id for line in lines],
                items_ru=items_ru, items_kk=items_kk)
            visas = [f"{role} {name} {decision} {at:%d.%m.%Y}" for role, name, decision, at
                     in run("visas_read", order=order_id)]
            main_ru = [item for line, item in zip(lines, items_ru, strict=True) if line.params["outcome"] == "in"]
            main_kk = [item for line, item in zip(lines, items_kk, strict=True) if line.params["outcome"] == "in"]
            content = minimal_docx([config["UNIVERSITY_KK"], config["UNIVERSITY_RU"], "БҰЙРЫҚ / ПРИКАЗ",
                                    f"№ {label} {today:%d.%m.%Y}", kind.title_kk, title, kind.preamble_kk,
                                    "БҰЙЫРАМЫН:", *(f"{n}. {item}" for n, item in enumerate(main_kk, 1)),
                                    kind.preamble_ru, "ПРИКАЗЫВАЮ:",
                                    *(f"{n}. {item}" for n, item in enumerate(main_ru, 1)),
                                    kind.appendix_title_kk, *(f"{n}. {t}" for n, t in enumerate(appendix_kk, 1)),
                                    kind.appendix_title_ru, *(f"{n}. {t}" for n, t in enumerate(appendix_ru, 1)),
                                    *visas])
            run("document", order=order_id, filename=f"order-{label}.docx".replace("/", "-"), content=content,
                sha256=hashlib.sha256(content).hexdigest(), now=now)
        return time.perf_counter() - started


def to_signature(order_id: int, uni, registrar_id: int, finance_id: int) -> float:
    """Submit and every visa (deans, registrar, finance), each committed in a fresh session."""
    db.session.remove()
    order = db.session.get(Order, order_id)
    started = time.perf_counter()
    fire(order, "submit", db.session.get(User, uni.clerk_id))
    db.session.commit()
    for faculty_id in sorted(order.faculty_ids):
        fire(order, "approve", db.session.get(User, uni.dean_ids[faculty_id]))
        db.session.commit()
    for user_id in (registrar_id, finance_id):
        fire(order, "approve", db.session.get(User, user_id))
        db.session.commit()
    if order.state != "awaiting_signature":
        raise SystemExit(f"order is {order.state} after the visas, not awaiting_signature")
    db.session.remove()
    return time.perf_counter() - started


def draft(uni, counter: QueryCounter) -> tuple[int, float, dict, dict]:
    db.session.remove()
    clerk = db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    with counter.counting() as queries:
        order = bulk.draft_scholarship(clerk, RAW)
    db.session.commit()
    elapsed = time.perf_counter() - started
    return order.id, elapsed, queries, bulk.summary(order)


def verify(order_id: int) -> tuple[int, int]:
    """Every line has a movement; the lines in have an amount and 7 months (5 for the final course).
    Returns (lines, lines in)."""
    lines, appointed, wrong = db.session.execute(text(
        "SELECT count(*), count(*) FILTER (WHERE params->>'outcome' = 'in'), "
        "count(*) FILTER (WHERE params->>'outcome' = 'in' AND ((params->>'amount')::int <= 0 "
        "OR json_array_length(params->'months') NOT IN (5, 7))) FROM order_lines WHERE order_id = :order"),
        {"order": order_id}).one()
    movements = db.session.scalar(text("SELECT count(*) FROM student_movements m JOIN order_lines l "
                                       "ON l.id = m.order_line_id WHERE l.order_id = :order"), {"order": order_id})
    if wrong or movements != lines:
        raise SystemExit(f"order {order_id}: {wrong} wrong lines, {movements} movements for {lines} lines")
    db.session.rollback()
    return lines, appointed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=10000, help="students per cohort (N)")
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
        finance = create_user("finance", "bench", "Финансист", ["finance"])
        db.session.commit()
        registrar_id, finance_id = registrar.id, finance.id
        for statement in SETUP_SQL:
            db.session.execute(text(statement), {"year": YEAR} if ":year" in statement else {})
        db.session.commit()
        grades = db.session.scalar(text("SELECT count(*) FROM grades"))
        print(f"generate   {time.perf_counter() - started:8.3f} s  (2 x {n} students, {grades} grades)")
        ours_cohort, bound_cohort = uni.cohorts

        set_cohort_status(bound_cohort, "academic_leave")
        cycle_started = time.perf_counter()
        ours_id, draft_s, draft_queries, counts = draft(uni, counter)
        print(f"draft      {draft_s:8.3f} s  ({n} lines: in {counts['in']}, out {counts['out']}; "
              f"{draft_queries['executions']} executions, {draft_queries['statements']} statements)")
        visas_s = to_signature(ours_id, uni, registrar_id, finance_id)
        print(f"submit     {visas_s:8.3f} s  (submit, {len(uni.dean_ids)} deans, registrar, finance)")
        db.session.remove()
        order, rector = db.session.get(Order, ours_id), db.session.get(User, uni.rector_id)
        with counter.counting() as sign_queries:
            started = time.perf_counter()
            fire(order, "sign", rector)
            db.session.commit()
            sign_s = time.perf_counter() - started
        cycle_s = time.perf_counter() - cycle_started
        lines, appointed = verify(ours_id)
        print(f"sign       {sign_s:8.3f} s  ({lines} lines, {appointed} in; {sign_queries['executions']} executions)")
        print(f"cycle      {cycle_s:8.3f} s  (draft + submit + visas + sign)")

        set_cohort_status(ours_cohort, "academic_leave")
        set_cohort_status(bound_cohort, "active")
        bound_id, _draft_s, bound_queries, _counts = draft(uni, counter)
        to_signature(bound_id, uni, registrar_id, finance_id)
        bound_s = sign_bound(bound_id, uni.rector_id)
        bound_lines, _in = verify(bound_id)
        print(f"bound      {bound_s:8.3f} s  (plain SQL + zipped XML for {bound_lines} lines; its draft: "
              f"{bound_queries['executions']} executions)")
    print(json.dumps({"bench": "scholarship", "n": n, "lines": lines, "in": appointed, "cycle_s": round(cycle_s, 3),
                      "sign_s": round(sign_s, 3), "bound_s": round(bound_s, 3), "ratio": round(sign_s / bound_s, 2),
                      "draft_s": round(draft_s, 3), "draft_queries": draft_queries["executions"]}))


if __name__ == "__main__":
    main()
