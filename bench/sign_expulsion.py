"""Signing an expulsion order of N lines, against the fastest plain code that writes the same rows.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench \\
        python -m bench.sign_expulsion --students 2000 [--repeat 3] [--profile sign.prof]

The database is wiped and migrated. 2 x R cohorts of N students, spread alike over the same groups, get one
expulsion order each, drafted with `orders.operations` and taken through submit and every dean's visa with
`workflow.engine.fire`. Then, alternating R times:

- ours: `fire(order, "sign", rector)` and the commit, in a fresh session (as a request would). Only this is timed.
- bound: another cohort's order signed by plain SQL in one transaction: the number, the order row, the visa and
  audit rows, one `UPDATE order_lines` for the applied changes, one `INSERT ... SELECT` for the movements, one
  set-based `UPDATE students ... FROM order_lines`, one `INSERT ... SELECT` for the outbox, and a minimal DOCX (raw
  XML zipped with zipfile, same item texts) in order_documents.

The fastest of each is reported; every order is then checked for the same outcome. The last line printed is one
JSON object: {"bench": "sign_expulsion", "n": N, "ours_s": ..., "bound_s": ..., "ratio": ...}.
"""

import argparse
import cProfile
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from types import SimpleNamespace
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import ExecuteStyle

from bench.generate import University, database_url, ensure_database, generate, make_app, reset_schema
from core.db import db
from core.models import User
from orders import operations
from orders.kinds import get_kind
from orders.models import Order
from orders.numbering import format_number
from workflow.engine import fire

PARAMS = {"reason": "academic_failure", "effective_date": "2026-07-01",
          "basis": "Представления деканов факультетов, ведомости промежуточной аттестации"}


class QueryCounter:
    """Counts what is sent to the database: cursor executions (round trips, an executemany or a multi-row INSERT
    counting once), and statements the server runs (an executemany of N parameter sets counting N)."""

    def __init__(self) -> None:
        self.executions = 0
        self.statements = 0
        self.active = False
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.active:
            self.executions += 1
            per_row = executemany and context.execute_style is ExecuteStyle.EXECUTEMANY
            self.statements += len(parameters) if per_row else 1

    @contextmanager
    def counting(self) -> Iterator[dict]:
        result: dict = {}
        self.executions = self.statements = 0
        self.active = True
        try:
            yield result
        finally:
            self.active = False
            result.update(executions=self.executions, statements=self.statements)


def prepare(uni: University, student_ids: list[int], counter: QueryCounter) -> tuple[int, dict, dict]:
    """Draft an order over these students, check it, submit it and give every dean's visa; commits after each
    step. Returns the order id, the time of each phase and the statements issued by add_students."""
    times = {}
    db.session.remove()
    clerk = db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    order = operations.create_order("expulsion", clerk, PARAMS)
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

    db.session.remove()
    order = db.session.get(Order, order_id)
    started = time.perf_counter()
    fire(order, "submit", db.session.get(User, uni.clerk_id))
    db.session.commit()
    for faculty_id in sorted(order.faculty_ids):
        fire(order, "approve", db.session.get(User, uni.dean_ids[faculty_id]))
        db.session.commit()
    times["submit_visas_s"] = time.perf_counter() - started
    if order.state != "awaiting_signature":
        raise SystemExit(f"order is {order.state} after the visas, not awaiting_signature")
    db.session.remove()
    return order_id, times, add_queries


def sign_ours(order_id: int, rector_id: int, counter: QueryCounter) -> tuple[float, dict]:
    db.session.remove()
    order = db.session.get(Order, order_id)
    rector = db.session.get(User, rector_id)
    with counter.counting() as queries:
        started = time.perf_counter()
        fire(order, "sign", rector)
        db.session.commit()
        elapsed = time.perf_counter() - started
    db.session.remove()
    return elapsed, queries


# The lower bound ----------------------------------------------------------------------------------------------

# {"status": [before, "expelled"]}, plus {"funding": ["grant", "none"]} when a grant ends (not on transfer).
CHANGES = """CASE WHEN s.funding = 'grant' AND l.params->>'reason' <> 'transfer'
    THEN json_build_object('status', json_build_array(s.status, 'expelled'),
                           'funding', json_build_array('grant', 'none'))
    ELSE json_build_object('status', json_build_array(s.status, 'expelled')) END"""

BOUND_SQL = {
    "lock": "SELECT kind, title, series, round, route_version FROM orders WHERE id = :order FOR UPDATE",
    "number": "INSERT INTO order_sequences (year, series, last_number) VALUES (:year, :series, 1) "
              "ON CONFLICT (year, series) DO UPDATE SET last_number = order_sequences.last_number + 1 "
              "RETURNING last_number",
    "order": "UPDATE orders SET state = 'signed', version = version + 1, year = :year, number = :number, "
             "number_label = :label, order_date = :today, signed_at = :now, signed_by_id = :signer, "
             "updated_at = :now WHERE id = :order",
    "visa": "INSERT INTO visas (order_id, round, step, role, decided_by_id, decision, comment, decided_at) "
            "VALUES (:order, :round, 'signature', 'rector', :signer, 'signed', '', :now)",
    "audit": "INSERT INTO audit_events (order_id, actor_id, trigger, from_state, to_state, comment, route_name, "
             "route_version, data, created_at) VALUES (:order, :signer, 'sign', 'awaiting_signature', 'signed', '', "
             "'movement', :route_version, '{}', :now)",
    "applied": f"UPDATE order_lines l SET applied_changes = {CHANGES} FROM students s "
               "WHERE l.order_id = :order AND s.id = l.student_id",
    "movements": "INSERT INTO student_movements (student_id, order_line_id, kind, effective_date, changes, reason, "
                 "order_label, created_at) SELECT l.student_id, l.id, :kind, l.effective_date, l.applied_changes, "
                 "l.params->>'reason', :label, :now FROM order_lines l WHERE l.order_id = :order ORDER BY l.position",
    "students": "UPDATE students s SET status = 'expelled', expulsion_reason = l.params->>'reason', "
                "status_since = l.effective_date, "
                "funding = CASE WHEN s.funding = 'grant' AND l.params->>'reason' <> 'transfer' THEN 'none' "
                "ELSE s.funding END FROM order_lines l WHERE l.order_id = :order AND s.id = l.student_id",
    "lines": "SELECT l.id, l.params, l.effective_date, s.surname, s.name, s.patronymic, s.iin, s.course, s.funding, "
             "g.name, g.language, g.study_form, p.code, p.name_ru, p.name_kk FROM order_lines l "
             "JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
             "JOIN programmes p ON p.id = g.programme_id WHERE l.order_id = :order ORDER BY l.position",
    "outbox": "INSERT INTO outbox_messages (recipient, template, language, context, status, attempts, last_error, "
              "created_at) SELECT s.email, CAST(:template AS text), "
              "CASE WHEN g.language = 'kk' THEN 'kk' ELSE 'ru' END, "
              "json_build_object('student_name', concat_ws(' ', s.surname, s.name, NULLIF(s.patronymic, '')), "
              "'order_label', CAST(:label AS text), 'order_date', CAST(:date_text AS text), "
              "'order_title', CAST(:title AS text), "
              "'item_ru', t.item_ru, 'item_kk', t.item_kk, "
              "'university_ru', CAST(:university_ru AS text), 'university_kk', CAST(:university_kk AS text)), "
              "'pending', 0, '', :now "
              "FROM unnest(CAST(:ids AS integer[]), CAST(:items_ru AS text[]), CAST(:items_kk AS text[])) "
              "WITH ORDINALITY AS t(line_id, item_ru, item_kk, n) JOIN order_lines l ON l.id = t.line_id "
              "JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
              "WHERE s.email IS NOT NULL AND s.email <> '' ORDER BY t.n",
    "visas_read": "SELECT v.role, u.full_name, v.decision, v.decided_at FROM visas v "
                  "JOIN users u ON u.id = v.decided_by_id WHERE v.order_id = :order ORDER BY v.id",
    "document": "INSERT INTO order_documents (order_id, filename, content, sha256, template_version, created_at) "
                "VALUES (:order, :filename, :content, :sha256, 'bench-minimal', :now)",
}

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                 '<Default Extension="xml" ContentType="application/xml"/>'
                 '<Override PartName="/word/document.xml" ContentType="application/'
                 'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>')


def minimal_docx(paragraphs: list[str]) -> bytes:
    """A valid WordprocessingML package: one paragraph per string, no styles."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs)
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f'<w:body>{body}</w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def _line_view(row) -> SimpleNamespace:
    """A line and its student as plain attributes, so the kind's own wording builds the item texts."""
    (line_id, params, effective, surname, name, patronymic, iin, course, funding, group_name, language,
     study_form, programme_code, name_ru, name_kk) = row
    programme = SimpleNamespace(code=programme_code, name_ru=name_ru, name_kk=name_kk)
    group = SimpleNamespace(name=group_name, language=language, study_form=study_form, programme=programme)
    student = SimpleNamespace(full_name=" ".join(p for p in (surname, name, patronymic) if p), iin=iin,
                              course=course, funding=funding, group=group)
    return SimpleNamespace(id=line_id, params=params, effective_date=effective, student=student)


def sign_bound(order_id: int, signer_id: int) -> float:
    """Sign `order_id` with plain SQL in one transaction; returns the seconds taken."""
    config = current_app.config
    with db.engine.connect() as connection:
        started = time.perf_counter()
        with connection.begin():
            def run(name: str, **values):
                return connection.execute(text(BOUND_SQL[name]), values)

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
            run("movements", order=order_id, kind=kind_name, label=label, now=now)
            run("students", order=order_id)
            kind = get_kind(kind_name)
            lines = [_line_view(row) for row in run("lines", order=order_id)]
            items_ru = [kind.item_text(line, "ru") for line in lines]
            items_kk = [kind.item_text(line, "kk") for line in lines]
            run("outbox", order=order_id, template=f"{kind_name}_student", label=label,
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


# Same outcome -------------------------------------------------------------------------------------------------

def snapshot(order_id: int) -> dict[int, tuple[str, str]]:
    """Each line's student status and funding before signing."""
    return {student_id: (status, funding) for student_id, status, funding in db.session.execute(text(
        "SELECT s.id, s.status, s.funding FROM order_lines l JOIN students s ON s.id = l.student_id "
        "WHERE l.order_id = :order"), {"order": order_id})}


def verify(order_id: int, before: dict[int, tuple[str, str]]) -> None:
    """The signed order's rows are what signing must produce; raises SystemExit naming the first difference."""
    def fail(message: str) -> None:
        raise SystemExit(f"order {order_id}: {message}")

    state, label, number = db.session.execute(text(
        "SELECT state, number_label, number FROM orders WHERE id = :order"), {"order": order_id}).one()
    if state != "signed" or number is None:
        fail(f"state {state}, number {number}")
    reason, effective = PARAMS["reason"], date.fromisoformat(PARAMS["effective_date"])
    rows = db.session.execute(text(
        "SELECT s.id, s.status, s.funding, s.expulsion_reason, s.status_since, l.applied_changes, m.changes, "
        "m.reason, m.order_label, m.effective_date FROM order_lines l JOIN students s ON s.id = l.student_id "
        "LEFT JOIN student_movements m ON m.order_line_id = l.id WHERE l.order_id = :order"), {"order": order_id})
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
    emails = db.session.scalar(text(
        "SELECT count(*) FROM order_lines l JOIN students s ON s.id = l.student_id "
        "WHERE l.order_id = :order AND s.email IS NOT NULL AND s.email <> ''"), {"order": order_id})
    outbox = db.session.execute(text(
        "SELECT context FROM outbox_messages WHERE context->>'order_label' = :label"), {"label": label}).scalars()
    contexts = list(outbox)
    if len(contexts) != emails:
        fail(f"{len(contexts)} outbox rows for {emails} students with e-mail")
    content = db.session.scalar(text("SELECT content FROM order_documents WHERE order_id = :order"),
                                {"order": order_id})
    if content is None:
        fail("no document")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("word/document.xml").decode()
    iins = db.session.scalars(text("SELECT s.iin FROM order_lines l JOIN students s ON s.id = l.student_id "
                                   "WHERE l.order_id = :order"), {"order": order_id})
    missing = [iin for iin in iins if iin not in xml]
    if missing or label not in xml:
        fail(f"document lacks {missing[:2] or label}")
    db.session.rollback()


# Main -----------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=2000, help="lines in the order (N)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="sign this many orders each way, alternating, and report the fastest of each")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of our first sign to FILE")
    args = parser.parse_args(argv)
    n, repeat = args.students, args.repeat
    url = database_url()
    ensure_database(url)
    app = make_app(url)
    with app.app_context():
        reset_schema()
        counter = QueryCounter()
        started = time.perf_counter()
        uni = generate(n, cohorts=2 * repeat)
        print(f"generate   {time.perf_counter() - started:8.3f} s  ({2 * repeat} x {n} students in "
              f"{len(uni.group_ids)} groups, {len(uni.faculty_ids)} faculties)")
        prepared = [prepare(uni, cohort, counter) for cohort in uni.cohorts]
        ours_ids, bound_ids = [p[0] for p in prepared[0::2]], [p[0] for p in prepared[1::2]]
        before = {order_id: snapshot(order_id) for order_id in ours_ids + bound_ids}
        db.session.rollback()
        best = {phase: min(p[1][phase] for p in prepared) for phase in prepared[0][1]}
        add_queries = prepared[0][2]
        print(f"draft      {best['draft_s']:8.3f} s  (create_order + add_students of {n} + commit; add_students: "
              f"{add_queries['executions']} executions, {add_queries['statements']} statements)")
        print(f"check      {best['check_s']:8.3f} s  (check_lines + commit)")
        print(f"submit     {best['submit_visas_s']:8.3f} s  (submit + {len(uni.dean_ids)} dean visas, each committed)")

        ours, bound = [], []
        for attempt, (ours_id, bound_id) in enumerate(zip(ours_ids, bound_ids, strict=True)):
            profiler = cProfile.Profile() if args.profile and attempt == 0 else None
            if profiler:
                profiler.enable()
            ours_s, sign_queries = sign_ours(ours_id, uni.rector_id, counter)
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
                ours_s = float("inf")  # a profiled run is no measurement
            ours.append(ours_s)
            bound.append(sign_bound(bound_id, uni.rector_id))
        ours_s, bound_s = min(ours), min(bound)
        runs = ", ".join(f"{t:.3f}" for t in ours)
        print(f"sign       {ours_s:8.3f} s  (fire sign + commit; runs {runs}; {sign_queries['executions']} "
              f"executions, {sign_queries['statements']} statements)")
        print(f"bound      {bound_s:8.3f} s  (plain SQL + zipped XML in one transaction; runs "
              f"{', '.join(f'{t:.3f}' for t in bound)})")
        for order_id in ours_ids + bound_ids:
            verify(order_id, before[order_id])
        print("verified: every order signed with the same rows (students, lines, movements, outbox, document)")
    print(json.dumps({"bench": "sign_expulsion", "n": n, "ours_s": round(ours_s, 4), "bound_s": round(bound_s, 4),
                      "ratio": round(ours_s / bound_s, 2)}))


if __name__ == "__main__":
    main()
