"""A student's record, or the whole contingent, on any date as known on any day, read from the timeline.

Every change is a row of `record_changes` (see `students/timeline.py` for the model and why): a field's value on day
D as known on K is its latest change effective on or before D, known on or before K and not voided by a revocation
known by K. "As known on" defaults to everything known now. A student enrolled after D has no record on D.
"""

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, case, cast, func, or_, select
from sqlalchemy.engine import Row

from core.clock import local_zone
from core.db import db
from core.formatting import parse_date
from students.models import TIMELINE_FIELDS, Group, Programme, RecordChange, Student


def parse_day(text: str | None) -> date:
    """A date given as YYYY-MM-DD; ValueError with a message for the user otherwise."""
    day = parse_date(text)
    if day is None:
        raise ValueError(_("Give the date as YYYY-MM-DD, e.g. 2026-09-01."))
    return day


def known_bound(known_on: date | datetime | None) -> datetime | None:
    """The first moment not known on `known_on`: a date means the end of that local day, a moment itself."""
    if known_on is None:
        return None
    if isinstance(known_on, datetime):
        moment = known_on if known_on.tzinfo else known_on.replace(tzinfo=UTC)
        return moment + timedelta(microseconds=1)
    return datetime.combine(known_on + timedelta(days=1), time(), tzinfo=local_zone()).astimezone(UTC)


def latest_values(day: date, known_on: date | datetime | None = None, student_ids=None) -> Select:
    """One row per student with a record on `day` as known on `known_on`: student_id and the fields (text), picked
    per student and field by a window function over the timeline."""
    changes = RecordChange
    conditions = [changes.effective_date <= day]
    bound = known_bound(known_on)
    if bound is None:
        conditions.append(changes.voided_at.is_(None))
    else:
        conditions += [changes.known_since < bound, or_(changes.voided_at.is_(None), changes.voided_at >= bound)]
    if student_ids is not None:
        conditions.append(changes.student_id.in_(student_ids))
    ranked = (
        select(
            changes.student_id,
            changes.field,
            changes.value,
            func.row_number()
            .over(
                partition_by=(changes.student_id, changes.field),
                order_by=(changes.effective_date.desc(), changes.id.desc()),
            )
            .label("rank"),
        )
        .where(*conditions)
        .subquery("ranked")
    )
    return (
        select(
            ranked.c.student_id,
            *[func.max(case((ranked.c.field == field, ranked.c.value))).label(field) for field in TIMELINE_FIELDS],
        )
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.student_id)
    )


def record_on(student: Student, day: date, known_on: date | datetime | None = None) -> dict | None:
    """`student`'s status, course, group, funding and expulsion reason at the end of `day` as known at the end of
    `known_on` (default: everything known now); None when the student was not enrolled yet."""
    return records_on([student.id], day, known_on).get(student.id)


def records_on(student_ids, day: date, known_on: date | datetime | None = None) -> dict[int, dict]:
    """The record at the end of `day`, as known on `known_on`, of each student (those unknown or not enrolled on
    `day` are left out): one query whatever the number of students."""
    ids = list(dict.fromkeys(student_ids))
    if not ids:
        return {}
    values = latest_values(day, known_on, ids).subquery("record")
    group_id = cast(values.c.group_id, Integer)
    rows = db.session.execute(
        select(values, group_id.label("group_number"), Group.name.label("group_name"))
        .outerjoin(Group, Group.id == group_id)
        .where(values.c.status.is_not(None))
    )
    return {
        row.student_id: {
            "date": day,
            "status": row.status,
            "course": int(row.course) if row.course is not None else None,
            "funding": row.funding,
            "expulsion_reason": row.expulsion_reason,
            "group": {"id": row.group_number, "name": row.group_name},
        }
        for row in rows
    }


def contingent_on(day: date, known_on: date | datetime | None = None) -> list[Row]:
    """Every student with a record on `day` as known on `known_on`, one row each, for a report to group: student_id,
    status, course, funding, expulsion_reason, group_id, study_form, language, programme_id, faculty_id. One SQL
    statement (a window function over the timeline, joined to groups and programmes)."""
    values = latest_values(day, known_on).subquery("record")
    group_id = cast(values.c.group_id, Integer)
    return list(
        db.session.execute(
            select(
                values.c.student_id,
                values.c.status,
                cast(values.c.course, Integer).label("course"),
                values.c.funding,
                values.c.expulsion_reason,
                group_id.label("group_id"),
                Group.study_form,
                Group.language,
                Group.programme_id,
                Programme.faculty_id,
            )
            .join(Group, Group.id == group_id)
            .join(Programme, Programme.id == Group.programme_id)
            .where(values.c.status.is_not(None))
            .order_by(values.c.student_id)
        )
    )
