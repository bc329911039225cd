"""What the signing benchmarks share (sign_expulsion, promotion, scholarship).

- Counting: `QueryCounter` (cursor executions and server statements while `counting()`).
- Ours, through the real code: `submit_and_visas` (submit, every dean's visa, then the named approvers, each
  committed), `sign_ours` (`fire(order, "sign")` and the commit, timed and counted), `draft_bulk` (a whole-university
  draft, timed and counted), `set_cohort_status`, `bulk_setup` (two cohorts, extra users, set-based SQL).
- The lower bound: `sign_bound(order_id, signer_id, sql, before_lines=..., after_lines=...)` signs an order by plain
  SQL in one transaction: lock the order row, take the number (the same `order_sequences` upsert), update the order
  row, insert the signature visa and the audit event, the kind's own set-based writes (`applied`, `movements`,
  `students`, ... from `sql`, each bound to :order and where it uses them :kind, :label, :now), one `SELECT` of the
  lines with student, group and programme (`line_view`: plain attributes for the kind's own wording), one
  `INSERT ... SELECT ... FROM unnest(...)` into the outbox, and a minimal DOCX (`minimal_docx`: raw
  WordprocessingML zipped with `zipfile`) with its SHA-256 in `order_documents`. `BOUND_SQL` holds the statements of
  an expulsion; a benchmark overrides the kind's own ones.
"""

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import ExecuteStyle

from bench.generate import University, generate
from core.db import db
from core.models import User, create_user
from orders.documents import DOCX_MIMETYPE
from orders.models import Order
from orders.numbering import format_number
from orders.registry import get_kind
from workflow.engine import fire

# Counting -----------------------------------------------------------------------------------------------------


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


# Ours: the real code ------------------------------------------------------------------------------------------


def submit_and_visas(order_id: int, uni: University, *approver_ids: int) -> float:
    """Submit, every dean's visa, then each of `approver_ids` (registrar, finance, ...), each committed, in a fresh
    session; the seconds taken. Stops unless the order then awaits the signature."""
    db.session.remove()
    order = db.session.get(Order, order_id)
    started = time.perf_counter()
    fire(order, "submit", db.session.get(User, uni.clerk_id))
    db.session.commit()
    for faculty_id in sorted(order.faculty_ids):
        fire(order, "approve", db.session.get(User, uni.dean_ids[faculty_id]))
        db.session.commit()
    for user_id in approver_ids:
        fire(order, "approve", db.session.get(User, user_id))
        db.session.commit()
    elapsed = time.perf_counter() - started
    if order.state != "awaiting_signature":
        raise SystemExit(f"order is {order.state} after the visas, not awaiting_signature")
    db.session.remove()
    return elapsed


def sign_ours(order_id: int, rector_id: int, counter: QueryCounter) -> tuple[float, dict]:
    """`fire(order, "sign", rector)` and the commit in a fresh session: only this is timed and counted."""
    db.session.remove()
    order = db.session.get(Order, order_id)
    rector = db.session.get(User, rector_id)
    with counter.counting() as queries:
        started = time.perf_counter()
        fire(order, "sign", rector)
        db.session.commit()
        elapsed = time.perf_counter() - started
    return elapsed, queries


def draft_bulk(
    uni: University, counter: QueryCounter, draft: Callable, summary: Callable, raw: dict
) -> tuple[int, float, dict, dict]:
    """`draft(clerk, raw)` for the whole university and the commit, timed and counted; returns the order id, the
    seconds, the queries and `summary(order)`."""
    db.session.remove()
    clerk = db.session.get(User, uni.clerk_id)
    started = time.perf_counter()
    with counter.counting() as queries:
        order = draft(clerk, raw)
    db.session.commit()
    elapsed = time.perf_counter() - started
    return order.id, elapsed, queries, summary(order)


def set_cohort_status(ids: list[int], status: str) -> None:
    db.session.execute(
        text("UPDATE students SET status = :status WHERE id = ANY(:ids)"), {"status": status, "ids": ids}
    )
    db.session.commit()


def bulk_setup(n: int, setup_sql: list[str], year: str, *users: tuple[str, str, str]) -> tuple[University, list[int]]:
    """Two cohorts of N students, one user per (username, full name, role) (password `bench`), then `setup_sql`
    (`:year` bound where used), committed; prints the time. Returns the university and the users' ids."""
    started = time.perf_counter()
    uni = generate(n, cohorts=2)
    created = [create_user(username, "bench", full_name, [role]) for username, full_name, role in users]
    db.session.commit()
    user_ids = [user.id for user in created]
    for statement in setup_sql:
        db.session.execute(text(statement), {"year": year} if ":year" in statement else {})
    db.session.commit()
    grades = db.session.scalar(text("SELECT count(*) FROM grades"))
    print(f"generate   {time.perf_counter() - started:8.3f} s  (2 x {n} students, {grades} grades)")
    return uni, user_ids


def bound_cohort(
    uni: University,
    counter: QueryCounter,
    draft: Callable,
    to_signature: Callable,
    sign_bound: Callable,
    count_lines: Callable,
) -> float:
    """The second cohort drafted and visaed as the first (which goes on academic leave), then signed by
    `sign_bound`; prints the bound's time and returns it. `draft(uni, counter)`, `to_signature(order_id)`,
    `count_lines(order_id)` (the verified number of lines)."""
    ours_cohort, bound_cohort_ = uni.cohorts
    set_cohort_status(ours_cohort, "academic_leave")
    set_cohort_status(bound_cohort_, "active")
    bound_id, _draft_s, bound_queries, _counts = draft(uni, counter)
    to_signature(bound_id)
    bound_s = sign_bound(bound_id, uni.rector_id)
    bound_lines = count_lines(bound_id)
    print(
        f"bound      {bound_s:8.3f} s  (plain SQL + zipped XML for {bound_lines} lines; its draft: "
        f"{bound_queries['executions']} executions)"
    )
    return bound_s


def movement_count(order_id: int) -> int:
    return db.session.scalar(
        text(
            "SELECT count(*) FROM student_movements m JOIN order_lines l "
            "ON l.id = m.order_line_id WHERE l.order_id = :order"
        ),
        {"order": order_id},
    )


# The lower bound ----------------------------------------------------------------------------------------------

# {"status": [before, "expelled"]}, plus {"funding": ["grant", "none"]} when a grant ends (not on transfer).
CHANGES = """CASE WHEN s.funding = 'grant' AND l.params->>'reason' <> 'transfer'
    THEN json_build_object('status', json_build_array(s.status, 'expelled'),
                           'funding', json_build_array('grant', 'none'))
    ELSE json_build_object('status', json_build_array(s.status, 'expelled')) END"""

MOVEMENTS_SQL = (
    "INSERT INTO student_movements (student_id, order_line_id, kind, effective_date, changes, reason, "
    "order_label, created_at) SELECT l.student_id, l.id, :kind, l.effective_date, l.applied_changes, "
    "{reason}, :label, :now FROM order_lines l WHERE l.order_id = :order{where} ORDER BY l.position"
)
LINES_SQL = (
    "SELECT l.id, l.params, l.effective_date, s.surname, s.name, s.patronymic, s.iin, s.course, s.funding, "
    "g.name, g.language, g.study_form, p.code, p.name_ru, p.name_kk{extra} FROM order_lines l "
    "JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
    "JOIN programmes p ON p.id = g.programme_id WHERE l.order_id = :order ORDER BY l.position"
)
# The lines with their applied changes, for kinds whose wording reads them.
LINES_WITH_APPLIED_SQL = LINES_SQL.format(extra=", l.applied_changes")

BOUND_SQL = {
    "lock": "SELECT kind, title, series, round, route_name, route_version, basis FROM orders WHERE id = :order "
    "FOR UPDATE",
    "signer": "SELECT full_name, position FROM users WHERE id = :signer",
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
    ":route_name, :route_version, '{}', :now)",
    "slots": "DELETE FROM approval_slots WHERE order_id = :order",
    "applied": f"UPDATE order_lines l SET applied_changes = {CHANGES} FROM students s "
    "WHERE l.order_id = :order AND s.id = l.student_id",
    "movements": MOVEMENTS_SQL.format(reason="l.params->>'reason'", where=""),
    "students": "UPDATE students s SET status = 'expelled', expulsion_reason = l.params->>'reason', "
    "status_since = l.effective_date, "
    "funding = CASE WHEN s.funding = 'grant' AND l.params->>'reason' <> 'transfer' THEN 'none' "
    "ELSE s.funding END FROM order_lines l WHERE l.order_id = :order AND s.id = l.student_id",
    "lines": LINES_SQL.format(extra=""),
    # What signing writes per e-mail: the line it is about and the student's own words; the worker reads the rest.
    "outbox": "INSERT INTO outbox_messages (recipient, template, language, context, status, attempts, last_error, "
    "created_at) SELECT s.email, CAST(:template AS text), "
    "CASE WHEN g.language = 'kk' THEN 'kk' ELSE 'ru' END, "
    "json_build_object('from', 'signed_line', 'order_line_id', l.id, "
    "'student_name', concat_ws(' ', s.surname, s.name, NULLIF(s.patronymic, '')), "
    "'dear_ru', CASE WHEN substr(s.iin, 7, 1) IN ('1', '3', '5', '7', '9') THEN 'Уважаемый' ELSE 'Уважаемая' END, "
    "'order_date', CAST(:date_text AS text)), "
    "'pending', 0, '', :now "
    "FROM order_lines l JOIN students s ON s.id = l.student_id JOIN groups g ON g.id = s.group_id "
    "WHERE l.order_id = :order AND s.email IS NOT NULL AND s.email <> '' ORDER BY l.position",
    "visas_read": "SELECT v.role, u.full_name, v.decision, v.decided_at FROM visas v "
    "JOIN users u ON u.id = v.decided_by_id WHERE v.order_id = :order ORDER BY v.id",
    "document": "INSERT INTO order_documents (order_id, filename, content, sha256, template_version, created_at) "
    "VALUES (:order, :filename, :content, :sha256, 'bench-minimal', :now)",
}

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)


def minimal_docx(paragraphs: list[str]) -> bytes:
    """A valid WordprocessingML package: one paragraph per string, no styles."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def line_view(row) -> SimpleNamespace:
    """A line and its student as plain attributes, so the kind's own wording builds the item texts. A 16th column
    (LINES_WITH_APPLIED_SQL) becomes the line's `applied_changes`."""
    (
        line_id,
        params,
        effective,
        surname,
        name,
        patronymic,
        iin,
        course,
        funding,
        group_name,
        language,
        study_form,
        programme_code,
        name_ru,
        name_kk,
        *applied,
    ) = row
    programme = SimpleNamespace(code=programme_code, name_ru=name_ru, name_kk=name_kk)
    group = SimpleNamespace(name=group_name, language=language, study_form=study_form, programme=programme)
    student = SimpleNamespace(
        full_name=" ".join(p for p in (surname, name, patronymic) if p),
        iin=iin,
        course=course,
        funding=funding,
        group=group,
    )
    line = SimpleNamespace(id=line_id, params=params, effective_date=effective, student=student)
    if applied:
        line.applied_changes = applied[0]
    return line


def numbered(items: Iterable[str]) -> list[str]:
    return [f"{n}. {item}" for n, item in enumerate(items, 1)]


def all_items(kind, lines: list, items_kk: list[str], items_ru: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The document's numbered items in Kazakh and Russian, and the paragraphs after them: every line, nothing."""
    return items_kk, items_ru, []


def sign_bound(
    order_id: int,
    signer_id: int,
    sql: dict[str, str],
    *,
    before_lines: Iterable[str],
    after_lines: Iterable[str] = (),
    document: Callable = all_items,
) -> float:
    """Sign `order_id` with plain SQL in one transaction; returns the seconds taken. `before_lines` and
    `after_lines` name the kind's set-based writes in `sql`, run before and after the lines are read (for the item
    texts); `document(kind, lines, items_kk, items_ru)` gives the DOCX's numbered items and the paragraphs after
    them."""
    config = current_app.config
    with db.engine.connect() as connection:
        started = time.perf_counter()
        with connection.begin():

            def run(name: str, **values):
                return connection.execute(text(sql[name]), values)

            kind_name, title, series, round_, route_name, route_version, basis = run("lock", order=order_id).one()
            today = datetime.now(ZoneInfo(config["TIMEZONE"])).date()
            now = datetime.now(ZoneInfo("UTC"))
            number = run("number", year=today.year, series=series).scalar_one()
            label = format_number(number, series, today.year)
            run(
                "order",
                order=order_id,
                year=today.year,
                number=number,
                label=label,
                today=today,
                now=now,
                signer=signer_id,
            )
            run("visa", order=order_id, round=round_, signer=signer_id, now=now)
            run("audit", order=order_id, signer=signer_id, route_name=route_name, route_version=route_version, now=now)
            run("slots", order=order_id)
            for name in before_lines:
                run(name, order=order_id, kind=kind_name, label=label, now=now)
            kind = get_kind(kind_name)
            lines = [line_view(row) for row in run("lines", order=order_id)]
            items_ru = [kind.item_text(line, "ru") for line in lines]
            items_kk = [kind.item_text(line, "kk") for line in lines]
            for name in after_lines:
                run(name, order=order_id, kind=kind_name, label=label, now=now)
            signer_name, signer_position = run("signer", signer=signer_id).one()
            shared = {
                "city": config["CITY"],
                "date": today.strftime("%d.%m.%Y"),
                "number": label,
                "title_kk": kind.title_kk,
                "title_ru": title,
                "preamble_kk": kind.preamble_kk,
                "preamble_ru": kind.preamble_ru,
                "basis": basis.strip(),
                "signer_position": signer_position or "Ректор",
                "signer_name": signer_name,
            }
            run(
                "outbox",
                order=order_id,
                template=kind.email_template,
                label=label,
                date_text=today.strftime("%d.%m.%Y"),
                title=title,
                university_ru=config["UNIVERSITY_RU"],
                university_kk=config["UNIVERSITY_KK"],
                now=now,
                ids=[line.id for line in lines],
                items_ru=items_ru,
                items_kk=items_kk,
                renderer="order_extract",
                mimetype=DOCX_MIMETYPE,
                label_file=label.replace("/", "-"),
                shared=json.dumps(shared, ensure_ascii=False),
            )
            visas = [
                f"{role} {name} {decision} {at:%d.%m.%Y}"
                for role, name, decision, at in run("visas_read", order=order_id)
            ]
            main_kk, main_ru, tail = document(kind, lines, items_kk, items_ru)
            content = minimal_docx(
                [
                    config["UNIVERSITY_KK"],
                    config["UNIVERSITY_RU"],
                    "БҰЙРЫҚ / ПРИКАЗ",
                    f"№ {label} {today:%d.%m.%Y}",
                    kind.title_kk,
                    title,
                    kind.preamble_kk,
                    "БҰЙЫРАМЫН:",
                    *numbered(main_kk),
                    kind.preamble_ru,
                    "ПРИКАЗЫВАЮ:",
                    *numbered(main_ru),
                    *tail,
                    *visas,
                ]
            )
            run(
                "document",
                order=order_id,
                filename=f"order-{label}.docx".replace("/", "-"),
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
                now=now,
            )
        return time.perf_counter() - started
