"""Signing an expulsion order of N lines, against the fastest plain code that writes the same rows.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench \\
        python -m bench.sign_expulsion --students 2000 [--repeat 3] [--profile sign.prof] [--tolerate T.C]

The database is wiped and migrated. 2 x R twin cohorts of N students (`bench.common.twin_cohorts`: the same names,
groups and funding at each position) get one expulsion order each, drafted with `orders.operations` and taken
through submit and every visa of its route (`legal`: each dean, the registrar office, the lawyer) with
`workflow.engine.fire`. Then, alternating R times:

- ours: `fire(order, "sign", rector)` and the commit, in a fresh session (as a request would). Only this is timed.
- bound: another cohort's order signed by plain SQL in one transaction (`bench.common.sign_bound`): the same
  set-based eligibility re-check, the number, the order row, the visa and audit rows, one `UPDATE order_lines`
  (applied changes and `record_before`), the frozen extracts, one `INSERT ... SELECT` for the movements and one for
  their timeline rows, one set-based `UPDATE students ... FROM order_lines`, one `INSERT ... SELECT` for the outbox,
  and a minimal DOCX (raw XML zipped with zipfile, same item texts) in order_documents.

The fastest of each is reported. Every order is then checked: the expulsion's own outcome, every column of every row
signing wrote equal to the first ours order's (`compare_signed`; `--tolerate TABLE.COLUMN` only prints a named
column's differences), and every IIN in the document. The last line printed is one JSON object:
{"bench": "sign_expulsion", "n": N, "ours_s": ..., "bound_s": ..., "ratio": ...}.
"""

import json
import time
from datetime import date

from sqlalchemy import text

from bench import common
from bench.common import (
    BOUND_SQL,
    QueryCounter,
    check_document,
    compare_signed,
    profiled,
    sign_ours,
    signed_rows,
    signing_arguments,
    student_rows,
    submit_and_visas,
    twin_cohorts,
)
from bench.generate import University, generate, wiped_app
from core.db import db
from core.models import User, create_user
from orders import operations
from orders.kinds.expulsion import Expulsion
from orders.models import Order

PARAMS = {
    "reason": "academic_failure",
    "effective_date": "2026-07-01",
    "basis": "Представления деканов факультетов, ведомости промежуточной аттестации",
}


def prepare(
    uni: University, student_ids: list[int], counter: QueryCounter, approver_ids: list[int]
) -> tuple[int, dict, dict]:
    """Draft an order over these students, check it, submit it and give every dean's visa, then the approvers'
    (registrar, lawyer); commits after each step. Returns the order id, the time of each phase and the statements
    issued by add_students."""
    times = {}
    db.session.remove()
    clerk = db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    order = operations.create_order(Expulsion.name, clerk, PARAMS)
    with counter.counting() as add_queries:
        operations.add_students(order, student_ids, clerk)
    db.session.commit()
    times["draft_s"] = time.perf_counter() - started
    order_id = order.id

    db.session.remove()
    order = db.session.get(Order, order_id)
    started = time.perf_counter()
    refusals = operations.check_lines(order)
    db.session.commit()
    times["check_s"] = time.perf_counter() - started
    if refusals:
        raise SystemExit(f"unexpected refusals: {refusals[:3]}")

    times["submit_visas_s"] = submit_and_visas(order_id, uni, *approver_ids)
    return order_id, times, add_queries


def sign_bound(order_id: int, signer_id: int) -> float:
    """Sign the expulsion `order_id` with plain SQL in one transaction (bench.common.sign_bound: the re-check, the
    applied changes and the values they overwrite, the lines as the order found them for the item texts and the
    extracts, then the movements, their timeline rows and the students' set-based UPDATE); the seconds."""
    return common.sign_bound(
        order_id,
        signer_id,
        BOUND_SQL,
        before_lines=("applied",),
        after_lines=("movements", "timeline", "students"),
    )


# Same outcome -------------------------------------------------------------------------------------------------


def verify(order_id: int, before_rows: list[dict]) -> None:
    """The signed order's rows are what an expulsion must produce (`before_rows`: its students before signing);
    raises SystemExit naming the first difference."""
    before = {row["id"]: (row["status"], row["funding"]) for row in before_rows}

    def fail(message: str) -> None:
        raise SystemExit(f"order {order_id}: {message}")

    state, label, number = db.session.execute(
        text("SELECT state, number_label, number FROM orders WHERE id = :order"), {"order": order_id}
    ).one()
    if state != "signed" or number is None:
        fail(f"state {state}, number {number}")
    reason, effective = PARAMS["reason"], date.fromisoformat(PARAMS["effective_date"])
    rows = db.session.execute(
        text(
            "SELECT s.id, s.status, s.funding, s.expulsion_reason, s.status_since, l.applied_changes, m.changes, "
            "m.reason, m.order_label, m.effective_date FROM order_lines l JOIN students s ON s.id = l.student_id "
            "LEFT JOIN student_movements m ON m.order_line_id = l.id WHERE l.order_id = :order"
        ),
        {"order": order_id},
    )
    count = 0
    for student_id, status, funding, why, since, applied, changes, m_reason, m_label, m_date in rows:
        count += 1
        old_status, old_funding = before[student_id]
        expected = {"status": [old_status, "expelled"]}
        if old_funding == "grant" and reason != "transfer":
            expected["funding"] = ["grant", "none"]
        want_funding = "none" if "funding" in expected else old_funding
        if (status, funding, why, since) != ("expelled", want_funding, reason, effective):
            fail(f"student {student_id} is {(status, funding, why, since)}")
        if applied != expected or changes != expected or (m_reason, m_label, m_date) != (reason, label, effective):
            fail(f"student {student_id}: line {applied}, movement {changes} {(m_reason, m_label, m_date)}")
    if count != len(before):
        fail(f"{count} movement rows for {len(before)} lines")
    emails = db.session.scalar(
        text(
            "SELECT count(*) FROM order_lines l JOIN students s ON s.id = l.student_id "
            "WHERE l.order_id = :order AND s.email IS NOT NULL AND s.email <> ''"
        ),
        {"order": order_id},
    )
    outbox = db.session.execute(
        text(
            "SELECT m.context FROM outbox_messages m JOIN order_lines l "
            "ON l.id = CAST(m.context->>'order_line_id' AS integer) WHERE l.order_id = :order"
        ),
        {"order": order_id},
    ).scalars()
    contexts = list(outbox)
    if len(contexts) != emails:
        fail(f"{len(contexts)} outbox rows for {emails} students with e-mail")
    if any(c.get("from") != "signed_line" or not c.get("student_name") for c in contexts):
        fail("an e-mail that does not name its signed line and student")
    db.session.rollback()
    check_document(order_id)


# Main -----------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = signing_arguments(__doc__, 2000, "lines in the order (N)")
    args = parser.parse_args(argv)
    n, repeat = args.students, args.repeat
    with wiped_app():
        counter = QueryCounter()
        started = time.perf_counter()
        uni = generate(n, cohorts=2 * repeat)
        twin_cohorts(uni)
        print(
            f"generate   {time.perf_counter() - started:8.3f} s  ({2 * repeat} x {n} students in "
            f"{len(uni.group_ids)} groups, {len(uni.faculty_ids)} faculties)"
        )
        # the expulsion route (`legal`) wants the registrar office's and the lawyer's visas after the deans'
        approvers = [
            create_user("registrar", "bench", "Регистратор", ["registrar"]),
            create_user("lawyer", "bench", "Юрист", ["lawyer"], position="Юрист"),
        ]
        db.session.commit()
        approver_ids = [user.id for user in approvers]
        prepared = [prepare(uni, cohort, counter, approver_ids) for cohort in uni.cohorts]
        ours_ids, bound_ids = [p[0] for p in prepared[0::2]], [p[0] for p in prepared[1::2]]
        before = {order_id: student_rows(order_id) for order_id in ours_ids + bound_ids}
        db.session.rollback()
        best = {phase: min(p[1][phase] for p in prepared) for phase in prepared[0][1]}
        add_queries = prepared[0][2]
        print(
            f"draft      {best['draft_s']:8.3f} s  (create_order + add_students of {n} + commit; add_students: "
            f"{add_queries['executions']} executions, {add_queries['statements']} statements)"
        )
        print(f"check      {best['check_s']:8.3f} s  (check_lines + commit)")
        print(
            f"submit     {best['submit_visas_s']:8.3f} s  (submit + {len(uni.dean_ids)} dean visas, registrar, "
            f"lawyer, each committed)"
        )

        ours, bound = [], []
        for attempt, (ours_id, bound_id) in enumerate(zip(ours_ids, bound_ids, strict=True)):
            profile = args.profile if attempt == 0 else None
            with profiled(profile):
                ours_s, sign_queries = sign_ours(ours_id, uni.rector_id, counter)
                db.session.remove()
            if profile:
                ours_s = float("inf")  # a profiled run is no measurement
            ours.append(ours_s)
            bound.append(sign_bound(bound_id, uni.rector_id))
        ours_s, bound_s = min(ours), min(bound)
        runs = ", ".join(f"{t:.3f}" for t in ours)
        print(
            f"sign       {ours_s:8.3f} s  (fire sign + commit; runs {runs}; {sign_queries['executions']} "
            f"executions, {sign_queries['statements']} statements)"
        )
        print(
            f"bound      {bound_s:8.3f} s  (plain SQL + zipped XML in one transaction; runs "
            f"{', '.join(f'{t:.3f}' for t in bound)})"
        )
        started = time.perf_counter()
        written = {order_id: signed_rows(order_id, before[order_id]) for order_id in ours_ids + bound_ids}
        for order_id in ours_ids + bound_ids:
            verify(order_id, before[order_id])
            compare_signed(ours_ids[0], written[ours_ids[0]], order_id, written[order_id], args.tolerate)
        print(
            f"verified   {time.perf_counter() - started:8.3f} s  (every order: the same rows, column by column, in "
            f"{', '.join(written[ours_ids[0]])}; the document names every student)"
        )
    print(
        json.dumps(
            {
                "bench": "sign_expulsion",
                "n": n,
                "ours_s": round(ours_s, 4),
                "bound_s": round(bound_s, 4),
                "ratio": round(ours_s / bound_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
