"""Builders several test files share: a graded discipline, a signed order, its document's text, status words."""

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from docx import Document
from sqlalchemy import event

from core.clock import today
from core.db import db
from core.models import Substitution
from orders import operations
from students.academic import Grade
from students.grades import grade_values
from tests.conftest import sign

# how the refusal messages name a student's status in English
STATUS_WORDS = {
    "active": "active",
    "academic_leave": "on academic leave",
    "expelled": "expelled",
    "graduated": "graduated",
    "incoming": "transferring in",
}


def add_grade(student, code, points, *, name=None, semester=1, year="2025-2026", credits=5, retake=False) -> Grade:
    """One graded discipline of `student` (named "Дисциплина <code>" unless named), letter and point from the scale."""
    values = grade_values(code, name or f"Дисциплина {code}", semester, year, points, credits, retake)
    row = Grade(student_id=student.id, **values)
    db.session.add(row)
    db.session.flush()
    return row


def on_leave(make, group, *, end=date(2026, 8, 31), **kwargs):
    """A student of `group` on medical academic leave since 01.09.2025, until `end`."""
    student = make.student(group, status="academic_leave", **kwargs)
    student.status_since, student.leave_ground = date(2025, 9, 1), "medical"
    student.leave_start, student.leave_end = date(2025, 9, 1), end
    db.session.flush()
    return student


def signed(order, uni):
    """`order` signed along its whole route, the session's objects read again."""
    sign(order, uni)
    db.session.expire_all()
    return order


def document_text(order) -> str:
    """The paragraphs of the order's generated Word document, one a line."""
    return "\n".join(p.text for p in Document(io.BytesIO(order.document.content)).paragraphs)


def stands_in(principal, substitute, days: int, reason: str = "отпуск") -> Substitution:
    """`substitute` acts for `principal` from today for `days` days (added to the session)."""
    row = Substitution(
        principal_id=principal.id,
        substitute_id=substitute.id,
        starts_on=today(),
        ends_on=today() + timedelta(days=days),
        reason=reason,
    )
    db.session.add(row)
    return row


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL statements the block sends to the database, savepoints and rollbacks aside."""
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def docx_text(content: bytes) -> str:
    """The text of a Word document: its paragraphs, then its tables' cells row by row, one a line."""
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def messages(line) -> dict[str, str]:
    """A line's eligibility messages by rule."""
    return {r["rule"]: r["message"] for r in line.eligibility}


def two_schedulers(app, run) -> dict:
    """Scheduler A calls `run()` and holds its transaction open half a second; B starts once A has run, so it waits
    on what A wrote, then runs too. Returns both results by name ("a", "b"); fails on an error or a hang."""
    a_ran, results, errors = threading.Event(), {}, []

    def scheduler(name: str) -> None:
        try:
            with app.app_context():
                if name == "b":
                    a_ran.wait(10)
                results[name] = run()
                if name == "a":
                    a_ran.set()
                    time.sleep(0.5)  # B is now blocked on what A wrote
                db.session.commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
            a_ran.set()

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and not any(t.is_alive() for t in threads)
    return results


def rules(line) -> list[str]:
    """The rules a line's eligibility check refused it by."""
    return [r["rule"] for r in line.eligibility]


def clerk_draft(uni, kind: str, params: dict, students):
    """A draft of `kind` by the clerk with `params`, and a line for each of `students` (if any)."""
    order = operations.create_order(kind, uni.clerk, params)
    if students:
        operations.add_students(order, [s.id for s in students], uni.clerk)
    return order
