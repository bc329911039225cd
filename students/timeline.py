"""The timeline: every change of a student's record, with the date it is valid from and the moment it became known.

Writers are here (enrolment, the movements signing writes, voiding by a revocation, the scheduler's effects); the
questions ("the record of S on D as known on K", "the whole contingent on D as known on K") are in
`students/history.py`.

The model, and why:

- `student_movements` stays the history people read: one row per signed order line, its changes as
  {field: [before, after]}, `effective_date` (valid from) and `known_since` (the signing). It also carries the effect
  itself: `record_after` (the student columns the line writes) and `applied_at` (when they reached the current
  record: at signing when the effective date is today or earlier, else by the scheduler's pass on the effective day;
  NULL while scheduled). A revocation or amendment sets `voided_at` on the movements it reverses.
- `record_changes` holds the timeline as SQL can read it: one row per (movement, field it sets) with the value
  after, repeating the movement's effective date, known-since and voided-at, plus one row per field for each
  enrolment (import, transfer in, demo seed), which has no movement. A field's value on D as known on K is then the
  latest row of that student and field (effective date, then id) with effective_date <= D, known_since <= K and not
  voided as of K: one window function over one table for the whole contingent, on SQLite and PostgreSQL alike. A row
  per field rather than after-value columns on the movement, because a movement sets some fields and not others and
  NULL is a real value (a restoration clears the expulsion reason); the enrolment rows stay out of the history
  people read and out of the movements payments read, and a student enrolled after D has no row, so no record, on D.

A revocation voids its target's movements from their effective date for every answer known after its signing and
leaves the answers known before unchanged; its own movement is history only and sets no field.
"""

from datetime import date, datetime

from sqlalchemy import String, cast, func, literal, select, union_all, update
from sqlalchemy.engine import Row
from sqlalchemy.sql import insert

from core.clock import now, today
from core.db import db
from students.models import TIMELINE_FIELDS, RecordChange, Student, StudentMovement


def json_values(values: dict) -> dict:
    """Student column values JSON-safe (dates as ISO text), as `record_after` keeps them."""
    return {column: value.isoformat() if isinstance(value, date) else value for column, value in values.items()}


def column_values(stored: dict) -> dict:
    """The inverse of `json_values`: values ready for an UPDATE of the students table."""
    columns = Student.__table__.c
    return {
        column: date.fromisoformat(value) if value is not None and columns[column].type.python_type is date else value
        for column, value in stored.items()
    }


def _text(value) -> str | None:
    return None if value is None else str(value)


def enrol(student_ids: list[int] | None, on: date | None = None) -> None:
    """Put these students (None: every student without a timeline yet) on the timeline with their current record,
    valid from `on` (default: each one's `status_since`, else today) and known from now. Set-based: one
    INSERT ... SELECT whatever the number of students."""
    if student_ids is not None and not student_ids:
        return
    at, day = now(), today()
    starts = literal(on) if on is not None else func.coalesce(Student.status_since, literal(day))
    chosen = (
        Student.id.in_(student_ids)
        if student_ids is not None
        else ~select(RecordChange.id).where(RecordChange.student_id == Student.id).exists()
    )
    parts = [
        select(
            Student.id,
            literal(field),
            cast(getattr(Student, field), String),
            starts,
            literal(at, RecordChange.known_since.type),
        ).where(chosen)
        for field in TIMELINE_FIELDS
    ]
    db.session.execute(
        insert(RecordChange).from_select(
            ["student_id", "field", "value", "effective_date", "known_since"], union_all(*parts)
        )
    )


def write_movements(movements: list[dict], values: list[dict | None]) -> None:
    """Insert the movements (dicts of StudentMovement columns) and, for each, the timeline rows of the fields its
    `values` set (student columns; None: a history entry that sets nothing). Two batched statements."""
    if not movements:
        return
    ids = db.session.scalars(
        insert(StudentMovement).returning(StudentMovement.id, sort_by_parameter_order=True), movements
    ).all()
    rows = [
        {
            "student_id": movement["student_id"],
            "movement_id": movement_id,
            "field": field,
            "value": _text(new[field]),
            "effective_date": movement["effective_date"],
            "known_since": movement["known_since"],
        }
        for movement_id, movement, new in zip(ids, movements, values, strict=True)
        if new is not None
        for field in TIMELINE_FIELDS
        if field in new
    ]
    if rows:
        db.session.execute(insert(RecordChange), rows)


def void_lines(line_ids: list[int], at: datetime) -> set[int]:
    """Void the movements of these order lines as of `at` (a revocation's signing); the ids of the lines whose
    effect had reached the current record (the others' scheduled effects are simply cancelled). The guarded UPDATE
    locks the rows, so a scheduler applying them at the same moment either went first (the line is returned) or
    finds them voided."""
    if not line_ids:
        return set()
    table = StudentMovement.__table__
    voided = db.session.execute(
        update(table)
        .where(table.c.order_line_id.in_(line_ids), table.c.voided_at.is_(None))
        .values(voided_at=at)
        .returning(table.c.id, table.c.order_line_id, table.c.applied_at)
    ).all()
    if voided:
        changes = RecordChange.__table__
        db.session.execute(
            update(changes).where(changes.c.movement_id.in_([row.id for row in voided])).values(voided_at=at)
        )
    return {row.order_line_id for row in voided if row.applied_at is not None}


def claim_due(day: date, at: datetime) -> list[Row]:
    """Mark applied at `at` every scheduled effect due on `day` (effective then or earlier, not voided) and return
    them (id, student_id, order_line_id, effective_date, record_after). One guarded UPDATE: a second pass, or a
    second scheduler at the same moment, claims nothing already claimed."""
    table = StudentMovement.__table__
    return db.session.execute(
        update(table)
        .where(table.c.applied_at.is_(None), table.c.voided_at.is_(None), table.c.effective_date <= day)
        .values(applied_at=at)
        .returning(table.c.id, table.c.student_id, table.c.order_line_id, table.c.effective_date, table.c.record_after)
    ).all()


def write_records(rows: list[tuple[int, dict]]) -> None:
    """UPDATE the students' current records: (student id, column values) pairs, batched by the set of columns."""
    batches: dict[tuple[str, ...], list[dict]] = {}
    for student_id, values in rows:
        if values:
            batches.setdefault(tuple(sorted(values)), []).append({"id": student_id, **values})
    for batch in batches.values():
        db.session.execute(update(Student), batch)


def scheduled_movements(student_id: int) -> list[StudentMovement]:
    """The student's movements signed but not yet in effect, soonest first."""
    return list(
        db.session.scalars(
            select(StudentMovement)
            .where(
                StudentMovement.student_id == student_id,
                StudentMovement.applied_at.is_(None),
                StudentMovement.voided_at.is_(None),
            )
            .order_by(StudentMovement.effective_date, StudentMovement.id)
        )
    )
