"""A state scholarship order for N students, the whole cycle, and the signing step against plain SQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_s1 \\
        python -m bench.scholarship --students 10000 [--repeat 3] [--profile sign.prof] [--tolerate T.C]

The database is wiped and migrated. 2R twin cohorts of N students (bench.generate, `bench.common.twin_cohorts`), all
on a state grant; an academic calendar for 2026-2027; every student gets 8 grades of 5 credits in the winter session
(semester 2*course-1 of 2026-2027; points 60-100 by the student's position in its cohort, one in 25 one FX), one in
50 a category (orphan), all written set-based in SQL. Each cohort in turn (the others on academic leave):
`orders.scholarship.draft_scholarship` for the whole university (SQL statements counted), submit, each dean's visa,
the registrar's and the finance visa. Then every cohort is active again and, alternating R times:

- ours: the rector's signature (`fire(order, "sign")` and the commit, timed on its own as the apply step).
- bound: the next cohort's order signed by plain SQL in one transaction: the re-check (active, grant, an outcome,
  death, no other scholarship order of the semester), number, order row, visa, audit, one `UPDATE order_lines` for
  the applied changes, the frozen extracts, one `INSERT ... SELECT` of the movements (the lines in: a line out is
  no movement; it changes no student column, so it counts as applied at signing), the outbox `INSERT ... SELECT`, and a
  minimal DOCX with the same item and appendix texts (nothing in `students`).

Best of R each. Every order is then checked column by column against the first ours
(`bench.common.compare_signed`) and its document for every IIN.
Last line: {"bench": "scholarship", "n": N, "lines": ..., "in": ..., "cycle_s": ..., "sign_s": ..., "bound_s": ...,
"ratio": ..., "draft_s": ..., "draft_queries": ...}.
"""

import json

from sqlalchemy import text

from bench import common
from bench.common import (
    BOUND_SQL,
    LINES_WITH_APPLIED_SQL,
    MOVEMENTS_SQL,
    QueryCounter,
    best_of,
    bulk_setup,
    draft_bulk,
    movement_count,
    numbered,
    only_cohort,
    sign_alternating,
    signing_arguments,
    submit_and_visas,
)
from bench.generate import wiped_app
from core.db import db
from orders.kinds.state_scholarship import drafting as bulk
from orders.kinds.state_scholarship.state_scholarship import StateScholarship

YEAR = "2026-2027"
RAW = {
    "academic_year": YEAR,
    "semester": 2,
    "effective_date": "2027-02-01",
    "basis": "Итоги зимней экзаменационной сессии, протокол стипендиальной комиссии",
}

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
       CROSS JOIN LATERAL (SELECT (s.id - :first) % :n + 1 AS pos) q
       CROSS JOIN LATERAL (SELECT CASE WHEN q.pos % 25 = 0 AND n = 1 THEN 40
                                       WHEN q.pos % 3 = 0 THEN 90 + (q.pos + n) % 11
                                       ELSE 60 + ((q.pos * 7 + n * 13) % 41) END AS points) x""",
    """INSERT INTO student_categories (student_id, category, document, valid_from, created_at)
       SELECT id, 'orphan', 'Свидетельство № ' || id, '2015-01-01', now() FROM students
       WHERE ((id - :first) % :n + 1) % 50 = 0""",
    "ANALYZE",
]

# The bound's own statements (the rest comes from bench.common.BOUND_SQL). The re-check of signing
# (StateScholarship.check_line; a scholarship changes no record, so no open-order or scheduled-effect rule): active,
# on a grant, an outcome computed, death, and no other scholarship order of the same year and semester naming the
# student (open, or signed with the student in).
RECHECK = """SELECT count(*) FILTER (WHERE s.status <> 'active' OR s.funding <> 'grant'
                                  OR l.params->>'outcome' IS NULL) AS kind_rule,
    count(*) FILTER (WHERE s.status = 'expelled' AND s.expulsion_reason = 'death') AS death,
    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM order_lines o JOIN orders oo ON oo.id = o.order_id
        WHERE o.student_id = l.student_id AND oo.id <> l.order_id AND oo.kind = :kind_name
        AND oo.state NOT IN ('rejected', 'withdrawn', 'draft')
        AND (oo.superseded_as IS NULL OR oo.superseded_as <> 'revoked')
        AND oo.params->>'academic_year' = :year AND (oo.params->>'semester')::int = :semester
        AND (oo.state <> 'signed' OR o.params->>'outcome' = 'in'))) AS duplicate
    FROM order_lines l JOIN students s ON s.id = l.student_id WHERE l.order_id = :order"""
SCHOLARSHIP_SQL = {
    "recheck": RECHECK,
    "applied": """UPDATE order_lines l SET
        applied_changes = CASE WHEN l.params->>'outcome' = 'in'
            THEN json_build_object('scholarship', json_build_array(NULL, (l.params->>'amount')::int))
            ELSE '{}'::json END,
        record_before = '{}'::json
        WHERE l.order_id = :order""",
    # a line out changes nothing, so it is no movement (as orders.operations writes them); nothing in the record
    "movements": MOVEMENTS_SQL.format(
        reason="NULL", after="CAST(NULL AS json)", where=" AND l.params->>'outcome' = 'in'"
    ),
    "lines": LINES_WITH_APPLIED_SQL,
}


def document(kind, lines: list, items_kk: list[str], items_ru: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The numbered items are the lines appointed ('in'); the others go to the appendix, with the kind's reason."""
    appendix_ru = [text_ for line in lines if (text_ := kind.appendix_text(line, "ru")) is not None]
    appendix_kk = [text_ for line in lines if (text_ := kind.appendix_text(line, "kk")) is not None]
    main_ru = [item for line, item in zip(lines, items_ru, strict=True) if line.params["outcome"] == "in"]
    main_kk = [item for line, item in zip(lines, items_kk, strict=True) if line.params["outcome"] == "in"]
    return (
        main_kk,
        main_ru,
        [kind.appendix_title_kk, *numbered(appendix_kk), kind.appendix_title_ru, *numbered(appendix_ru)],
    )


def sign_bound(order_id: int, signer_id: int) -> float:
    """Sign the scholarship order `order_id` with plain SQL in one transaction (bench.common.sign_bound: the applied
    changes, the lines for the item and appendix texts, the movements; nothing in `students`); the seconds taken."""
    return common.sign_bound(
        order_id,
        signer_id,
        {**BOUND_SQL, **SCHOLARSHIP_SQL},
        before_lines=("applied",),
        after_lines=("movements",),
        document=document,
        recheck={"year": YEAR, "semester": RAW["semester"], "kind_name": StateScholarship.name},
    )


def draft(uni, counter: QueryCounter) -> tuple[int, float, dict, dict]:
    return draft_bulk(uni, counter, bulk.draft_scholarship, bulk.summary, RAW)


def verify(order_id: int) -> tuple[int, int]:
    """Every line in has a movement (a line out changes nothing: none), an amount and 7 months (5 for the final
    course). Returns (lines, lines in)."""
    lines, appointed, wrong = db.session.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE params->>'outcome' = 'in'), "
            "count(*) FILTER (WHERE params->>'outcome' = 'in' AND ((params->>'amount')::int <= 0 "
            "OR json_array_length(params->'months') NOT IN (5, 7))) FROM order_lines WHERE order_id = :order"
        ),
        {"order": order_id},
    ).one()
    movements = movement_count(order_id)
    if wrong or movements != appointed:
        raise SystemExit(f"order {order_id}: {wrong} wrong lines, {movements} movements for {appointed} lines in")
    db.session.rollback()
    return lines, appointed


def main(argv: list[str] | None = None) -> None:
    parser = signing_arguments(__doc__, 10000, "students per cohort (N)")
    args = parser.parse_args(argv)
    n, repeat = args.students, args.repeat
    with wiped_app():
        counter = QueryCounter()
        uni, (registrar_id, finance_id) = bulk_setup(
            n,
            SETUP_SQL,
            YEAR,
            ("registrar", "Регистратор", "registrar"),
            ("finance", "Финансист", "finance"),
            cohorts=2 * repeat,
        )

        def prepare(k: int) -> tuple[int, dict]:
            only_cohort(uni, k)
            order_id, draft_s, draft_queries, counts = draft(uni, counter)
            visas_s = submit_and_visas(order_id, uni, registrar_id, finance_id)
            return order_id, {"draft_s": draft_s, "draft_queries": draft_queries, "counts": counts, "visas_s": visas_s}

        result = sign_alternating(
            uni, counter, prepare, sign_bound, repeat=repeat, profile=args.profile, tolerate=args.tolerate
        )
        for order_id in result["ours_ids"] + result["bound_ids"]:
            lines, appointed = verify(order_id)
    best = best_of(result, ("draft_s", "visas_s"))
    draft_s, visas_s, sign_s, bound_s, cycle_s = (
        best[key] for key in ("draft_s", "visas_s", "sign_s", "bound_s", "cycle_s")
    )
    first = result["phases"][0]
    print(
        f"draft      {draft_s:8.3f} s  ({n} lines: in {first['counts']['in']}, out {first['counts']['out']}; "
        f"{first['draft_queries']['executions']} executions, {first['draft_queries']['statements']} statements)"
    )
    print(f"submit     {visas_s:8.3f} s  (submit, {len(uni.dean_ids)} deans, registrar, finance)")
    runs = ", ".join(f"{t:.3f}" for t in result["ours"])
    print(
        f"sign       {sign_s:8.3f} s  ({lines} lines, {appointed} in; runs {runs}; "
        f"{result['queries']['executions']} executions)"
    )
    print(f"bound      {bound_s:8.3f} s  (runs {', '.join(f'{t:.3f}' for t in result['bound'])})")
    print(f"cycle      {cycle_s:8.3f} s  (draft + submit + visas + sign, best of {repeat})")
    print(
        json.dumps(
            {
                "bench": "scholarship",
                "n": n,
                "lines": lines,
                "in": appointed,
                "repeat": repeat,
                "cycle_s": round(cycle_s, 3),
                "sign_s": round(sign_s, 3),
                "bound_s": round(bound_s, 3),
                "ratio": round(sign_s / bound_s, 2),
                "draft_s": round(draft_s, 3),
                "draft_queries": first["draft_queries"]["executions"],
            }
        )
    )


if __name__ == "__main__":
    main()
