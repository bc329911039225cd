"""Drafting a transfer in: the incoming student, created with the draft line, and the transcript as grades.

All or nothing: every bad field (IIN, names, group, funding, each transcript row) is reported with its own message
and nothing is written until the whole input is clean. The student waits in status "incoming", which no list of
active students shows; signing the order makes them active in the chosen group.
"""

import csv
import io
import re
from datetime import date

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import insert, select

from core.db import db
from core.labels import label as code_label
from core.models import User
from orders import operations
from orders.group_change import group_by_name
from orders.models import Order, OrderLine
from orders.operations import InvalidInput
from students.academic import Grade, academic_year_of
from students.grades import grade_values
from students.iin import iin_error
from students.models import Student
from students.timeline import enrol

KIND = "transfer_in"
NAME_MAX = 100
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
YEAR = re.compile(r"^(\d{4})-(\d{4})$")
TRANSCRIPT_MAX = 200
COLUMNS = ("code", "name", "semester", "credits", "points", "academic_year")


def _text(raw: dict, key: str) -> str:
    value = raw.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


def parse_transcript_text(text: str) -> list[dict]:
    """Transcript lines as a registrar pastes them: `code; name; semester; credits; points[; academic year]`
    (or comma / tab separated); blank lines are skipped. Values are checked by `validate_incoming`."""
    rows = []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return rows
    dialect = ";" if ";" in lines[0] else ("\t" if "\t" in lines[0] else ",")
    for cells in csv.reader(io.StringIO("\n".join(lines)), delimiter=dialect):
        rows.append(dict(zip(COLUMNS, (cell.strip() for cell in cells), strict=False)) | {"_cells": len(cells)})
    return rows


def validate_incoming(raw: dict, order: Order) -> tuple[dict, dict[str, str]]:  # noqa: C901
    """Clean the incoming student's data: (clean values, errors by field; transcript rows as transcript.<n>)."""
    errors: dict[str, str] = {}
    clean = {**_person(raw, errors), **_placement(raw, errors)}
    clean["grades"] = _transcript_grades(raw, order, errors)
    return clean, errors


def _person(raw: dict, errors: dict[str, str]) -> dict:
    """IIN (valid and not registered yet), names and e-mail."""
    clean: dict = {}
    iin = _text(raw, "iin")
    problem = iin_error(iin)
    if problem:
        errors["iin"] = _("IIN %(iin)s: %(problem)s", iin=iin or "—", problem=_(problem))
    elif db.session.scalar(select(Student.id).where(Student.iin == iin)) is not None:
        errors["iin"] = _("A student with IIN %(iin)s is already registered.", iin=iin)
    clean["iin"] = iin
    for key, label in (("surname", _("Surname")), ("name", _("Name"))):
        clean[key] = _text(raw, key)
        if not clean[key]:
            errors[key] = _("%(field)s is required.", field=label)
        elif len(clean[key]) > NAME_MAX:
            errors[key] = ngettext(
                "%(field)s is longer than %(num)s character.",
                "%(field)s is longer than %(num)s characters.",
                NAME_MAX,
                field=label,
            )
    clean["patronymic"] = _text(raw, "patronymic") or None
    if clean["patronymic"] and len(clean["patronymic"]) > NAME_MAX:
        errors["patronymic"] = ngettext(
            "%(field)s is longer than %(num)s character.",
            "%(field)s is longer than %(num)s characters.",
            NAME_MAX,
            field=_("Patronymic"),
        )
    clean["email"] = _text(raw, "email") or None
    if clean["email"] and (len(clean["email"]) > 254 or not EMAIL.match(clean["email"])):
        errors["email"] = _("%(email)s is not an e-mail address.", email=clean["email"])
    return clean


def _placement(raw: dict, errors: dict[str, str]) -> dict:
    """Where the student comes from and goes to: previous university, target group, funding, a tied grant."""
    clean: dict = {}
    clean["previous_university"] = _text(raw, "previous_university")
    if not clean["previous_university"]:
        errors["previous_university"] = _("Name the university the student transfers from.")
    elif len(clean["previous_university"]) > 300:
        errors["previous_university"] = ngettext(
            "The university's name is longer than %(num)s character.",
            "The university's name is longer than %(num)s characters.",
            300,
        )
    group_name = _text(raw, "group")
    group = group_by_name(group_name)
    if not group_name:
        errors["group"] = _("Name the target group.")
    elif group is None:
        errors["group"] = _("There is no group %(name)s.", name=group_name)
    clean["group"] = group
    clean["funding"] = _text(raw, "funding")
    if clean["funding"] not in ("grant", "paid"):
        errors["funding"] = _("Funding is grant or paid.")
    clean["grant_tied"] = _bool(raw.get("grant_tied"))
    return clean


def _transcript_grades(raw: dict, order: Order, errors: dict[str, str]) -> list[dict]:
    """The transcript's rows as Grade values (pasted text or a list of rows); each bad row named in `errors`."""
    transcript = raw.get("transcript")
    if isinstance(transcript, str):
        transcript = parse_transcript_text(transcript)
    if not isinstance(transcript, list) or not transcript:
        errors["transcript"] = _("Give the transcript: at least one discipline with its grade.")
        transcript = []
    elif len(transcript) > TRANSCRIPT_MAX:
        errors["transcript"] = ngettext(
            "The transcript has more than %(num)s row.", "The transcript has more than %(num)s rows.", TRANSCRIPT_MAX
        )
        transcript = []
    effective = order.params.get("effective_date") or ""
    default_year = academic_year_of(_date(effective)) if effective else None
    grades, seen = [], set()
    for n, row in enumerate(transcript, 1):
        problem, grade = _grade(row, default_year)
        if problem is None and (grade["discipline_code"], grade["semester"], grade["academic_year"]) in seen:
            problem = _(
                "discipline %(code)s appears twice for semester %(s)s.",
                code=grade["discipline_code"],
                s=grade["semester"],
            )
        if problem is not None:
            errors[f"transcript.{n}"] = _("Transcript row %(n)s: %(problem)s", n=n, problem=problem)
            continue
        seen.add((grade["discipline_code"], grade["semester"], grade["academic_year"]))
        grades.append(grade)
    return grades


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _grade(row, default_year: str | None) -> tuple[str | None, dict]:
    """(why the row is bad or None, the Grade values)."""
    if not isinstance(row, dict):
        return _("give code, name, semester, credits and points."), {}
    if row.get("_cells", 5) < 5:
        return _("give code, name, semester, credits and points."), {}
    code = _text(row, "code")
    name = _text(row, "name")
    semester, credits, points = _int(row.get("semester")), _int(row.get("credits")), _int(row.get("points"))
    year = _text(row, "academic_year") or default_year
    if not code or len(code) > 32:
        return _("the discipline code is required (up to 32 characters)."), {}
    if not name or len(name) > 300:
        return _("the discipline name is required (up to 300 characters)."), {}
    if semester is None or not 1 <= semester <= 14:
        return _("the semester must be a whole number from 1 to 14."), {}
    if credits is None or not 1 <= credits <= 30:
        return _("the credits must be a whole number from 1 to 30."), {}
    if points is None or not 0 <= points <= 100:
        return _("the points must be a whole number from 0 to 100, got %(p)s.", p=row.get("points")), {}
    match = YEAR.match(year or "")
    if not match or int(match[2]) != int(match[1]) + 1:
        return _("the academic year must look like 2025-2026."), {}
    return None, grade_values(code, name, semester, year, points, credits)


def add_incoming(order: Order, raw: dict, actor: User) -> OrderLine:
    """Create the incoming student (status "incoming") with the transcript as grades, and their line in the
    transfer-in draft `order`; the line is checked at once. Raises InvalidInput with every bad field."""
    if order.kind != KIND:
        raise InvalidInput({"order": _("Incoming students are added only to a transfer-in order.")}, status=409)
    if order.state != "draft":
        raise InvalidInput(
            {"order": _("Only a draft can be changed; this order is %(s)s.", s=code_label(order.state))},
            status=409,
        )
    if not operations.can_edit(order, actor):
        raise InvalidInput({"order": _("You may not change this order.")}, status=403)
    clean, errors = validate_incoming(raw, order)
    if errors:
        raise InvalidInput(errors)
    group = clean["group"]
    student = Student(
        iin=clean["iin"],
        surname=clean["surname"],
        name=clean["name"],
        patronymic=clean["patronymic"],
        email=clean["email"],
        group_id=group.id,
        course=group.course,
        status="incoming",
        funding=clean["funding"],
    )
    db.session.add(student)
    db.session.flush()
    enrol([student.id])  # incoming until the order takes effect
    db.session.execute(insert(Grade), [{**grade, "student_id": student.id} for grade in clean["grades"]])
    position = max((line.position for line in order.lines), default=0) + 1
    line = OrderLine(
        student=student,
        faculty_id=group.programme.faculty_id,
        position=position,
        params={
            "previous_university": clean["previous_university"],
            "group_id": group.id,
            "group": group.name,
            "grant_tied": clean["grant_tied"],
        },
        effective_date=_date(order.params["effective_date"]),
    )
    order.lines.append(line)
    operations.check_lines(order)
    return line
