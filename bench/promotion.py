"""Year-end course promotion of N students, the whole cycle, and the signing step against plain SQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_h1 \\
        python -m bench.promotion --students 20000 [--repeat 3] [--profile sign.prof] [--tolerate T.C]

The database is wiped and migrated. 2R twin cohorts of N students (bench.generate, `bench.common.twin_cohorts`);
the final-year students are moved to course 1 (final years are not promoted). Every programme gets a curriculum of
8 disciplines x 5 credits per semester, every student a grade in each discipline of the current course's two
semesters (points 50-100 by the student's position in its cohort, so twins get the same grades; one in 25 students
one FX, one in 100 seven FX: 35 credits, over the 30 allowed for a repeat year), all written set-based in SQL. Each
cohort in turn (the others on academic leave): `orders.promotion.draft_promotion` for the whole university (SQL
statements counted), `split_refused` (repeat-year and expulsion drafts), submit, each dean's visa, the registrar's
visa, each step committed as a request would. Then every cohort is active again and, alternating R times:

- ours: the rector's signature (`fire(order, "sign")` and the commit, timed on its own as the apply step).
- bound: the next cohort's order signed by plain SQL in one transaction: the re-check (status, final course, the
  year's standing: missing grades, debts, GPA against the transfer GPA; death, open orders, scheduled effects),
  number, order row, visa, audit, one `UPDATE order_lines` for the applied changes and `record_before` (next group
  found by a join), the frozen extracts, one `INSERT ... SELECT` for the movements and one for their timeline rows,
  one set-based `UPDATE students ... FROM`, the outbox `INSERT ... SELECT`, and a minimal DOCX with the same item
  texts.

Best of R each; the cycle is draft + split + submit + visas + sign of one order (best of R). Every order is then
checked column by column against the first ours (`bench.common.compare_signed`) and its document for every IIN.
Last line: {"bench": "promotion", "n": N, "cycle_s": ..., "sign_s": ..., "bound_s": ..., "ratio": ...,
"draft_queries": ...}.
"""

import json
import time

from sqlalchemy import text

from bench import common
from bench.common import (
    BOUND_SQL,
    LINES_WITH_APPLIED_SQL,
    MOVEMENTS_SQL,
    RECHECK_SQL,
    QueryCounter,
    best_of,
    bulk_setup,
    draft_bulk,
    movement_count,
    only_cohort,
    sign_alternating,
    signing_arguments,
    submit_and_visas,
)
from bench.generate import wiped_app
from core.db import db
from core.models import User
from orders.kinds.promotion import drafting as bulk
from orders.kinds.promotion.promotion import transfer_gpa
from orders.models import Order
from students.models import LEVELS

YEAR = "2025-2026"
RAW = {
    "academic_year": YEAR,
    "effective_date": "2026-09-01",
    "basis": "Итоги летней экзаменационной сессии, представления деканов факультетов",
}

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
       CROSS JOIN LATERAL (SELECT (s.id - :first) % :n + 1 AS pos) q
       CROSS JOIN LATERAL (SELECT CASE
            WHEN q.pos % 100 = 0 AND c.semester = 2 * s.course - 1 AND right(c.code, 1)::int <= 7 THEN 40
            WHEN q.pos % 25 = 0 AND c.semester = 2 * s.course AND right(c.code, 1) = '1' THEN 40
            ELSE 62 + ((q.pos * 7 + c.id * 13) % 39) END AS points) x""",
    "ANALYZE",
]

# The bound's own statements for promotion (the rest comes from bench.common.BOUND_SQL).
NEXT_GROUP = """(SELECT n.id FROM groups n WHERE n.programme_id = g.programme_id AND n.course = s.course + 1
                 AND n.language = g.language AND n.study_form = g.study_form ORDER BY n.name LIMIT 1)"""
# The re-check of signing (Promotion.check_line): active, not in the final course, and the year's standing: every
# curriculum item of the course's two semesters graded, no FX/F, the year's GPA at or over the transfer GPA of the
# level and course (:levels, :courses, :gpas from the rules).
STANDING = """JOIN groups g ON g.id = s.group_id JOIN programmes p ON p.id = g.programme_id
    LEFT JOIN LATERAL (SELECT sum(gr.grade_point * gr.credits) / NULLIF(sum(gr.credits), 0) AS gpa,
                              count(*) FILTER (WHERE gr.letter IN ('FX', 'F')) AS debts
                       FROM grades gr WHERE gr.student_id = s.id AND gr.academic_year = :year) st ON true
    LEFT JOIN unnest(CAST(:levels AS text[]), CAST(:courses AS integer[]), CAST(:gpas AS float8[]))
        AS th(level, course, gpa) ON th.level = p.level AND th.course = s.course
    """
REFUSED = """s.status <> 'active' OR s.course >= p.duration_years OR st.debts > 0 OR st.gpa IS NULL
    OR th.gpa IS NULL OR st.gpa < th.gpa
    OR EXISTS (SELECT 1 FROM curriculum_items c WHERE c.programme_id = p.id
               AND c.semester IN (2 * s.course - 1, 2 * s.course)
               AND NOT EXISTS (SELECT 1 FROM grades gr WHERE gr.student_id = s.id AND gr.academic_year = :year
                               AND gr.discipline_code = c.code AND gr.semester = c.semester))"""
PROMOTION_AFTER = """json_build_object('course', s.course + 1, 'group_id',
    (SELECT n.id FROM groups g JOIN groups n ON n.programme_id = g.programme_id AND n.course = s.course + 1
       AND n.language = g.language AND n.study_form = g.study_form WHERE g.id = s.group_id ORDER BY n.name LIMIT 1))"""
PROMOTION_SQL = {
    "recheck": RECHECK_SQL.format(refused=REFUSED, joins=STANDING),
    "applied": f"""UPDATE order_lines l SET
        applied_changes = json_build_object('course', json_build_array(s.course, s.course + 1),
                                            'group', json_build_array(g.name, ng.name)),
        record_before = json_build_object('course', s.course, 'group_id', s.group_id)
        FROM students s JOIN groups g ON g.id = s.group_id JOIN groups ng ON ng.id = {NEXT_GROUP}
        WHERE l.order_id = :order AND s.id = l.student_id""",
    "movements": MOVEMENTS_SQL.format(reason="NULL", after=PROMOTION_AFTER, where=""),
    "students": f"""UPDATE students s SET course = s.course + 1, group_id = {NEXT_GROUP}
        FROM order_lines l, groups g WHERE l.order_id = :order AND s.id = l.student_id AND g.id = s.group_id""",
    "lines": LINES_WITH_APPLIED_SQL,
}


def thresholds() -> dict:
    """The transfer GPA of every level and course, as arrays for the re-check."""
    keys = [(level, course) for level in LEVELS for course in range(1, 8)]
    known = [(level, course, transfer_gpa(level, course)) for level, course in keys]
    known = [row for row in known if row[2] is not None]
    return {
        "year": YEAR,
        "levels": [row[0] for row in known],
        "courses": [row[1] for row in known],
        "gpas": [row[2] for row in known],
    }


def sign_bound(order_id: int, signer_id: int) -> float:
    """Sign the promotion `order_id` with plain SQL in one transaction (bench.common.sign_bound: the re-check, the
    applied changes, then the lines as the order found them for the item texts and extracts, then the movements,
    their timeline rows and the students' set-based UPDATE); returns the seconds taken."""
    return common.sign_bound(
        order_id,
        signer_id,
        {**BOUND_SQL, **PROMOTION_SQL},
        before_lines=("applied",),
        after_lines=("movements", "timeline", "students"),
        recheck=thresholds(),
    )


def to_signature(order_id: int, uni, registrar_id: int) -> dict:
    """Split, submit and every visa, each committed in a fresh session; the time of each step."""
    times = {}
    db.session.remove()
    order, clerk = db.session.get(Order, order_id), db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    repeat, expulsion = bulk.split_refused(order, clerk)
    db.session.commit()
    times["split_s"] = time.perf_counter() - started
    times["moved"] = {
        "repeat_year": len(repeat.lines) if repeat else 0,
        "expulsion": len(expulsion.lines) if expulsion else 0,
    }
    times["submit_visas_s"] = submit_and_visas(order_id, uni, registrar_id)
    return times


def draft(uni, counter: QueryCounter) -> tuple[int, float, dict, dict]:
    return draft_bulk(uni, counter, bulk.draft_promotion, bulk.summary, RAW)


def verify(order_id: int) -> int:
    """Every line's student is on the next course in a group of that course; returns the number of lines."""
    lines, wrong = db.session.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE s.course <> (l.applied_changes->'course'->>1)::int "
            "OR g.course <> s.course OR g.name <> l.applied_changes->'group'->>1) "
            "FROM order_lines l JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
            "WHERE l.order_id = :order"
        ),
        {"order": order_id},
    ).one()
    movements = movement_count(order_id)
    if wrong or movements != lines:
        raise SystemExit(
            f"order {order_id}: {wrong} students not where the line says, {movements} movements for {lines} lines"
        )
    db.session.rollback()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = signing_arguments(__doc__, 20000, "students per cohort (N)")
    args = parser.parse_args(argv)
    n, repeat = args.students, args.repeat
    with wiped_app():
        counter = QueryCounter()
        uni, (registrar_id,) = bulk_setup(
            n, SETUP_SQL, YEAR, ("registrar", "Регистратор", "registrar"), cohorts=2 * repeat
        )

        def prepare(k: int) -> tuple[int, dict]:
            only_cohort(uni, k)
            order_id, draft_s, draft_queries, counts = draft(uni, counter)
            times = {"draft_s": draft_s, "draft_queries": draft_queries, "counts": counts}
            times.update(to_signature(order_id, uni, registrar_id))
            return order_id, times

        result = sign_alternating(
            uni, counter, prepare, sign_bound, repeat=repeat, profile=args.profile, tolerate=args.tolerate
        )
        for order_id in result["ours_ids"] + result["bound_ids"]:
            promoted = verify(order_id)
    best = best_of(result, ("draft_s", "split_s", "submit_visas_s"))
    sign_s, bound_s, cycle_s = best["sign_s"], best["bound_s"], best["cycle_s"]
    first = result["phases"][0]
    print(
        f"draft      {best['draft_s']:8.3f} s  ({n} lines: {first['counts']}; {first['draft_queries']['executions']} "
        f"executions, {first['draft_queries']['statements']} statements)"
    )
    print(f"split      {best['split_s']:8.3f} s  (moved {first['moved']})")
    print(f"submit     {best['submit_visas_s']:8.3f} s  (submit, {len(uni.dean_ids)} deans, registrar)")
    runs = ", ".join(f"{t:.3f}" for t in result["ours"])
    print(
        f"sign       {sign_s:8.3f} s  ({promoted} students promoted; runs {runs}; {result['queries']['executions']} "
        "executions)"
    )
    print(f"bound      {bound_s:8.3f} s  (runs {', '.join(f'{t:.3f}' for t in result['bound'])})")
    print(f"cycle      {cycle_s:8.3f} s  (draft + split + submit + visas + sign, best of {repeat})")
    print(
        json.dumps(
            {
                "bench": "promotion",
                "n": n,
                "lines": promoted,
                "repeat": repeat,
                "cycle_s": round(cycle_s, 3),
                "sign_s": round(sign_s, 3),
                "bound_s": round(bound_s, 3),
                "ratio": round(sign_s / bound_s, 2),
                "draft_s": round(best["draft_s"], 3),
                "draft_queries": first["draft_queries"]["executions"],
            }
        )
    )


if __name__ == "__main__":
    main()
