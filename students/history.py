"""A student's record as it was on a past date, rebuilt from the movement history.

Signing an order changes the record at once, even when a line takes effect later; every change is kept in a
movement as {field: [before, after]} with its effective date. The record at the end of a day is the current one
with every movement effective after that day undone, newest first (same effective date: higher id first).
"""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select

from core.db import db
from core.formatting import parse_date
from students.models import Group, Student, StudentMovement

FIELDS = ("status", "course", "group_id", "funding", "expulsion_reason")


def parse_day(text: str | None) -> date:
    """A date given as YYYY-MM-DD; ValueError with a message for the user otherwise."""
    day = parse_date(text)
    if day is None:
        raise ValueError(_("Give the date as YYYY-MM-DD, e.g. 2026-09-01."))
    return day


def record_on(student: Student, day: date) -> dict:
    """`student`'s status, course, group, funding and expulsion reason as they were at the end of `day`."""
    return records_on([student.id], day)[student.id]


def records_on(student_ids, day: date) -> dict[int, dict]:
    """The record at the end of `day` of each student (unknown ids are left out), in three queries whatever the
    number of students: current records, their movements, the names of the groups involved."""
    ids = list(dict.fromkeys(student_ids))
    if not ids:
        return {}
    records = {
        row.id: {
            "status": row.status,
            "course": row.course,
            "group_id": row.group_id,
            "funding": row.funding,
            "expulsion_reason": row.expulsion_reason,
        }
        for row in db.session.execute(
            select(
                Student.id, Student.status, Student.course, Student.group_id, Student.funding, Student.expulsion_reason
            ).where(Student.id.in_(ids))
        )
    }
    history: dict[int, list] = {student_id: [] for student_id in records}
    for movement in db.session.execute(
        select(
            StudentMovement.id,
            StudentMovement.student_id,
            StudentMovement.effective_date,
            StudentMovement.changes,
            StudentMovement.reason,
        )
        .where(StudentMovement.student_id.in_(list(records)))
        .order_by(StudentMovement.student_id, StudentMovement.effective_date, StudentMovement.id)
    ):
        history[movement.student_id].append(movement)
    group_names: set[str] = set()
    for student_id, movements in history.items():
        _undo_after(records[student_id], movements, day, group_names)
    names = _group_names({r["group_id"] for r in records.values() if isinstance(r["group_id"], int)}, group_names)
    by_name = {name: group_id for group_id, name in names.items()}
    result = {}
    for student_id, record in records.items():
        group_id = record.pop("group_id")
        if isinstance(group_id, str):  # a movement that named the group only
            group_id = by_name.get(group_id)
        result[student_id] = {"date": day, **record, "group": {"id": group_id, "name": names.get(group_id)}}
    return result


def _undo_after(record: dict, movements: list, day: date, group_names: set[str]) -> None:
    """Undo on `record`, newest first, the `movements` (oldest first) effective after `day`."""
    for index in range(len(movements) - 1, -1, -1):
        movement = movements[index]
        if movement.effective_date <= day:
            break
        changes = movement.changes or {}
        for field, change in changes.items():
            before = _before(change)
            if field in FIELDS:
                record[field] = before
            elif field == "group" and "group_id" not in changes:
                record["group_id"] = before
                if isinstance(before, str):
                    group_names.add(before)
        if "status" in changes and "expulsion_reason" not in changes:
            record["expulsion_reason"] = _reason_before(record["status"], record["expulsion_reason"], movements[:index])


def _before(change):
    if isinstance(change, list | tuple) and len(change) == 2:
        return change[0]
    return None


def _reason_before(status: str, reason: str | None, earlier: list) -> str | None:
    """The expulsion reason that goes with `status` when a movement that did not record it is undone: none
    unless expelled; when expelled, the one of the latest earlier movement that expelled the student."""
    if status != "expelled":
        return None
    for movement in reversed(earlier):
        change = (movement.changes or {}).get("status")
        if isinstance(change, list | tuple) and len(change) == 2 and change[1] == "expelled":
            recorded = (movement.changes or {}).get("expulsion_reason")
            if isinstance(recorded, list | tuple) and len(recorded) == 2 and recorded[1]:
                return recorded[1]
            return movement.reason or reason
    return reason


def _group_names(group_ids: set[int], names: set[str]) -> dict[int, str]:
    """Group id -> name for these ids and for the groups with these names, in one query."""
    if not group_ids and not names:
        return {}
    conditions = []
    if group_ids:
        conditions.append(Group.id.in_(group_ids))
    if names:
        conditions.append(Group.name.in_(names))
    return dict(db.session.execute(select(Group.id, Group.name).where(or_(*conditions))).tuples().all())
