"""Import of students, curricula and grades from CSV or XLSX, as exported from another system.

`plan_import(kind, filename, data)` reads the file, checks every row and compares it with the database: the result
lists every bad row (its number as a spreadsheet shows it, and why) and what a clean file would do (new, updated,
unchanged). `apply_plan(plan)` writes a clean plan into the session; the caller commits once. Rows are matched by
their natural keys (a student by IIN, a curriculum item by programme + semester + code, a grade by student, code,
semester, year and retake), so importing the same file again changes nothing.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from blinker import Namespace
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import now, today
from core.db import db
from core.errors import ConcurrentChange, InvalidInput
from core.formatting import format_day, parse_date
from students.academic import AcademicCalendar, CurriculumItem, Grade
from students.difference import clear_passed_debts
from students.grades import grade_values
from students.iin import iin_error
from students.models import STATUSES, Group, Programme, Student
from students.timeline import enrol, write_movements

KINDS = ("students", "curriculum", "grades")

# Columns per kind: (name, required). Optional columns may be left out of the file.
COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "students": (
        ("iin", True),
        ("surname", True),
        ("name", True),
        ("patronymic", True),
        ("email", True),
        ("group", True),
        ("funding", True),
        ("status", False),
        ("status_since", False),
    ),
    "curriculum": (
        ("programme_code", True),
        ("semester", True),
        ("code", True),
        ("name_ru", True),
        ("name_kk", True),
        ("name_en", True),
        ("credits", True),
    ),
    "grades": (
        ("iin", True),
        ("semester", True),
        ("academic_year", True),
        ("code", True),
        ("name_ru", True),
        ("credits", True),
        ("points", True),
        ("retake", True),
    ),
}
# Each example passes the checks against the demo university (`make run`): a valid IIN, a demo group, and a grade
# of the curriculum example's discipline in a session of last year's calendar.
EXAMPLES = {
    "students": "iin;surname;name;patronymic;email;group;funding;status;status_since\n"
    "050315501230;Ахметов;Нурлан;Серикович;n.akhmetov@example.kz;6B06101-24Р;grant;active;01.09.2024",
    "curriculum": "programme_code;semester;code;name_ru;name_kk;name_en;credits\n"
    "6B06101;1;INF1101;Информатика;Информатика;Computer Science;5",
    "grades": "iin;semester;academic_year;code;name_ru;credits;points;retake\n"
    "050315501230;1;2025-2026;INF1101;Информатика;5;87;0",
}
FUNDINGS = ("grant", "paid")
# What one import file may hold: a whole university's students fit; a larger file is refused while it is read.
MAX_ROWS = 100_000
MAX_COLUMNS = 50
MAX_CELL = 1_000
YEAR = re.compile(r"^(\d{4})-(\d{4})$")
# A person's name: letters of the Kazakh, Russian and Latin alphabets, words joined by a hyphen, apostrophe or space.
_LETTERS = "A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі"
PERSON_NAME = re.compile(rf"[{_LETTERS}]+(?:[-'’ ][{_LETTERS}]+)*")
NAME_FIELDS = ("surname", "name", "patronymic")
# Sent when an import changes an existing student's e-mail (sender: the student; old, new): the top floor records it
# in the audit log, which `students` cannot import.
_signals = Namespace()
email_changed = _signals.signal("student-email-changed")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ImportFileError(InvalidInput):
    """The file as a whole cannot be read (not CSV/XLSX, not UTF-8, no header)."""

    def __init__(self, message: str):
        super().__init__({"file": message}, message=message)


@dataclass
class RowError:
    row: int
    reason: str

    def __str__(self) -> str:
        return _("row %(n)s: %(reason)s", n=self.row, reason=self.reason)


@dataclass
class Plan:
    kind: str
    errors: list[RowError] = field(default_factory=list)
    create: list[dict] = field(default_factory=list)
    update: list[tuple[object, dict]] = field(default_factory=list)  # (existing row, changed values)
    unchanged: int = 0
    # Existing students whose names in the file differ: never applied by an import, only by a signed personal-data
    # order; (student, {field: new value} of the names that differ).
    conflicts: list[tuple[Student, dict]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        return {"created": len(self.create), "updated": len(self.update), "unchanged": self.unchanged}


# --- reading -------------------------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(_("The file is not UTF-8 text; save it as CSV UTF-8 or as XLSX.")) from error
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(_within_limits(len(rows) + 1, [cell.strip() for cell in row]))
    except csv.Error as error:  # a field over csv's size limit, a NUL byte, an unclosed quote at the end
        raise ImportFileError(_("Row %(n)s cannot be read as CSV: %(error)s.", n=len(rows) + 1, error=error)) from error
    return rows


def _within_limits(number: int, row: list[str]) -> list[str]:
    """`row` (the `number`-th of the file), or ImportFileError when the file is larger than an import may be."""
    if number > MAX_ROWS:
        raise ImportFileError(
            _("The file has more than %(n)s rows; split it into smaller files.", n=format_decimal(MAX_ROWS))
        )
    if len(row) > MAX_COLUMNS and any(row[MAX_COLUMNS:]):
        raise ImportFileError(
            _("Row %(n)s has more than %(columns)s columns; remove the extra columns.", n=number, columns=MAX_COLUMNS)
        )
    if any(len(cell) > MAX_CELL for cell in row):
        raise ImportFileError(
            _("Row %(n)s has a cell longer than %(limit)s characters.", n=number, limit=format_decimal(MAX_CELL))
        )
    return row[:MAX_COLUMNS]


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError(_("The file is not a readable XLSX workbook.")) from error
    try:
        sheet = workbook.worksheets[0]
        # The size a workbook declares (`<dimension ref="A1:XFD1048576">`) is not trusted: without this, every row read
        # is padded to the declared width. One column past the limit is read, to tell the user when there is more.
        sheet.reset_dimensions()
        rows = []
        for values in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
            row = [_cell(v) for v in values]
            # Excel keeps an IIN typed as a number without its leading zero (born 2000-2009).
            row = [
                (c.zfill(12) if isinstance(v, int | float) and c.isdigit() and 9 <= len(c) < 12 else c)
                for v, c in zip(values, row, strict=True)
            ]
            rows.append(_within_limits(len(rows) + 1, row))
        return rows
    finally:
        workbook.close()


def read_rows(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header's column names, and (row number, {column: text}) for every non-empty data row (header = row 1)."""
    if filename.lower().endswith(".xlsx"):
        rows = _read_xlsx(data)
    elif filename.lower().endswith((".csv", ".txt")):
        rows = _read_csv(data)
    else:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    if not rows or not any(rows[0]):
        raise ImportFileError(_("The file is empty: the first row must name the columns."))
    header = [h.strip().lower().lstrip("\ufeff") for h in rows[0]]
    result = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell for cell in row):
            continue
        result.append((number, {name: (row[i] if i < len(row) else "") for i, name in enumerate(header) if name}))
    return header, result


# --- checking ------------------------------------------------------------------------------------------------------


def _int(value: str, low: int, high: int, what: str) -> tuple[int | None, str | None]:
    text = value.strip()
    if re.fullmatch(r"\d+(\.0+)?", text):
        number = int(float(text))
        if low <= number <= high:
            return number, None
    return None, _(
        "%(what)s must be a whole number %(low)s..%(high)s, got '%(value)s'.",
        what=what,
        low=low,
        high=high,
        value=value,
    )


def _text(row: dict, column: str, limit: int, errors: list[str], required: bool = True) -> str | None:
    value = row.get(column, "").strip()
    if not value:
        if required:
            errors.append(_("%(column)s is empty.", column=column))
        return None
    if len(value) > limit:
        errors.append(_("%(column)s is longer than %(limit)s characters.", column=column, limit=limit))
    return value


def _academic_year(value: str) -> str | None:
    match = YEAR.match(value.strip())
    if match and int(match.group(2)) == int(match.group(1)) + 1:
        return value.strip()
    return None


def _diff(obj, values: dict) -> dict:
    return {key: value for key, value in values.items() if getattr(obj, key) != value}


# A student's place in the university changes only through signed orders, so that history stays complete.
ORDER_FIELDS = ("group_id", "course", "funding", "status", "status_since")


def _student_values(number: int, row: dict, groups: dict[str, Group], seen: dict[str, int]) -> tuple[dict, list[str]]:
    """The checked values of one student row, or what is wrong with it; notes the row's IIN in `seen`."""
    errors: list[str] = []
    iin = row.get("iin", "").strip()
    if problem := iin_error(iin):
        errors.append(_("IIN '%(iin)s': %(problem)s", iin=iin, problem=problem))
    elif iin in seen:
        errors.append(_("duplicate of row %(n)s (same IIN %(iin)s).", n=seen[iin], iin=iin))
    else:
        seen[iin] = number
    surname = _text(row, "surname", 100, errors)
    name = _text(row, "name", 100, errors)
    patronymic = _text(row, "patronymic", 100, errors, required=False)
    for column, value in (("surname", surname), ("name", name), ("patronymic", patronymic)):
        if value and not PERSON_NAME.fullmatch(value):
            errors.append(
                _(
                    "%(column)s '%(value)s' may hold only letters, hyphens, apostrophes and spaces.",
                    column=column,
                    value=value,
                )
            )
    email = _text(row, "email", 254, errors, required=False)
    if email and not EMAIL.match(email):
        errors.append(_("email '%(email)s' is not an e-mail address.", email=email))
    group_name = row.get("group", "").strip()
    group = groups.get(group_name)
    if group is None:
        errors.append(_("unknown group '%(group)s'.", group=group_name) if group_name else _("group is empty."))
    funding = row.get("funding", "").strip().lower()
    if funding not in FUNDINGS:
        errors.append(_("funding must be grant or paid, got '%(value)s'.", value=funding))
    status = row.get("status", "").strip().lower() or "active"
    if status not in STATUSES:
        errors.append(_("status must be one of %(codes)s, got '%(value)s'.", codes=", ".join(STATUSES), value=status))
    since_text = row.get("status_since", "").strip()
    since = parse_date(since_text, dotted=True) if since_text else None
    if since_text and since is None:
        errors.append(_("status_since '%(value)s' is not a date (YYYY-MM-DD or DD.MM.YYYY).", value=since_text))
    if errors:
        return {}, errors
    values = {
        "iin": iin,
        "surname": surname,
        "name": name,
        "patronymic": patronymic,
        "email": email,
        "group_id": group.id,
        "course": group.course,
        "funding": funding,
        "status": status,
    }
    if since_text:
        values["status_since"] = since
    return values, []


def _plan_students(plan: Plan, rows: list[tuple[int, dict]]) -> None:
    names = {row.get("group", "").strip() for _, row in rows}
    groups = {g.name: g for g in db.session.scalars(select(Group).where(Group.name.in_(names)))}
    checked, seen = [], {}
    for number, row in rows:
        values, errors = _student_values(number, row, groups, seen)
        if errors:
            plan.errors.append(RowError(number, " ".join(errors)))
            continue
        checked.append((number, values))
    if plan.errors:
        return
    existing = {s.iin: s for s in db.session.scalars(select(Student).where(Student.iin.in_(seen)))}
    for number, values in checked:
        student = existing.get(values["iin"])
        moved = {k: v for k, v in _diff(student, values).items() if k in ORDER_FIELDS} if student else {}
        if moved:
            plan.errors.append(
                RowError(
                    number,
                    _(
                        "IIN %(iin)s: %(columns)s of an existing student change only by a signed order (transfer, "
                        "leave, expulsion...); the import updates names and e-mail only.",
                        iin=values["iin"],
                        columns=", ".join(sorted(moved)),
                    ),
                )
            )
    if plan.errors:
        return
    for _number, values in checked:
        student = existing.get(values["iin"])
        renamed = {key: value for key, value in _diff(student, values).items() if key in NAME_FIELDS} if student else {}
        if renamed:
            plan.conflicts.append((student, renamed))
            values = {**values, **{key: getattr(student, key) for key in renamed}}
        _upsert(plan, student, values)


def _plan_curriculum(plan: Plan, rows: list[tuple[int, dict]]) -> None:
    codes = {row.get("programme_code", "").strip() for _, row in rows}
    programmes = {p.code: p.id for p in db.session.scalars(select(Programme).where(Programme.code.in_(codes)))}
    checked, seen = [], {}
    for number, row in rows:
        errors: list[str] = []
        programme_code = row.get("programme_code", "").strip()
        programme_id = programmes.get(programme_code)
        if programme_id is None:
            errors.append(
                _("unknown programme '%(code)s'.", code=programme_code)
                if programme_code
                else _("programme_code is empty.")
            )
        semester, problem = _int(row.get("semester", ""), 1, 14, "semester")
        errors += [problem] if problem else []
        code = _text(row, "code", 32, errors)
        name_ru = _text(row, "name_ru", 300, errors)
        name_kk = _text(row, "name_kk", 300, errors, required=False) or name_ru
        name_en = _text(row, "name_en", 300, errors, required=False) or name_ru
        credits, problem = _int(row.get("credits", ""), 1, 30, "credits")
        errors += [problem] if problem else []
        key = (programme_code, semester, code)
        if not errors and key in seen:
            errors.append(_("duplicate of row %(n)s (same programme, semester and code).", n=seen[key]))
        if errors:
            plan.errors.append(RowError(number, " ".join(errors)))
            continue
        seen[key] = number
        checked.append(
            {
                "programme_id": programme_id,
                "semester": semester,
                "code": code,
                "name_ru": name_ru,
                "name_kk": name_kk,
                "name_en": name_en,
                "credits": credits,
            }
        )
    if plan.errors:
        return
    existing = {
        (c.programme_id, c.semester, c.code): c
        for c in db.session.scalars(
            select(CurriculumItem).where(CurriculumItem.programme_id.in_(set(programmes.values())))
        )
    }
    for values in checked:
        _upsert(plan, existing.get((values["programme_id"], values["semester"], values["code"])), values)


def _plan_grades(plan: Plan, rows: list[tuple[int, dict]]) -> None:
    iins = {row.get("iin", "").strip() for _, row in rows}
    found = db.session.execute(
        select(Student.iin, Student.id, Group.programme_id).join(Group).where(Student.iin.in_(iins))
    ).all()
    students = {iin: student_id for iin, student_id, _programme in found}
    programme_of = {iin: programme for iin, _id, programme in found}
    calendars = {c.year: c for c in db.session.scalars(select(AcademicCalendar))}
    credits_of = {
        (item.programme_id, item.semester, item.code): item.credits
        for item in db.session.scalars(
            select(CurriculumItem).where(CurriculumItem.programme_id.in_(set(programme_of.values())))
        )
    }
    checked, seen = [], {}
    for number, row in rows:
        errors: list[str] = []
        iin = row.get("iin", "").strip()
        student_id = None
        if problem := iin_error(iin):
            errors.append(_("IIN '%(iin)s': %(problem)s", iin=iin, problem=problem))
        elif (student_id := students.get(iin)) is None:
            errors.append(_("no student with IIN %(iin)s.", iin=iin))
        semester, problem = _int(row.get("semester", ""), 1, 14, "semester")
        errors += [problem] if problem else []
        year = _academic_year(row.get("academic_year", ""))
        if year is None:
            errors.append(
                _("academic_year must look like 2025-2026, got '%(value)s'.", value=row.get("academic_year", ""))
            )
        code = _text(row, "code", 32, errors)
        name = _text(row, "name_ru", 300, errors)
        credits, problem = _int(row.get("credits", ""), 1, 30, "credits")
        errors += [problem] if problem else []
        points, problem = _int(row.get("points", ""), 0, 100, "points")
        errors += [_("grade out of range: %(problem)s", problem=problem)] if problem else []
        retake_text = row.get("retake", "").strip() or "0"
        if retake_text not in ("0", "1"):
            errors.append(_("retake must be 0 or 1, got '%(value)s'.", value=retake_text))
        retake = retake_text == "1"
        if year is not None and semester is not None:
            errors += _session_problems(calendars.get(year), year, semester)
        expected = credits_of.get((programme_of.get(iin), semester, code))
        if credits is not None and expected is not None and credits != expected:
            errors.append(
                _(
                    "credits %(credits)s differ from the curriculum's %(expected)s for %(code)s in semester "
                    "%(semester)s.",
                    credits=credits,
                    expected=expected,
                    code=code,
                    semester=semester,
                )
            )
        key = (iin, code, semester, year, retake)
        if not errors and key in seen:
            errors.append(_("duplicate of row %(n)s (same student, code, semester, year and retake).", n=seen[key]))
        if errors:
            plan.errors.append(RowError(number, " ".join(errors)))
            continue
        seen[key] = number
        checked.append({"student_id": student_id, **grade_values(code, name, semester, year, points, credits, retake)})
    if plan.errors:
        return
    ids = {values["student_id"] for values in checked}
    key_columns = (Grade.student_id, Grade.discipline_code, Grade.semester, Grade.academic_year, Grade.is_retake)
    existing = {
        tuple(getattr(g, c.key) for c in key_columns): g
        for g in db.session.scalars(select(Grade).where(Grade.student_id.in_(ids)))
    }
    for values in checked:
        _upsert(plan, existing.get(tuple(values[c.key] for c in key_columns)), values)


def _session_problems(calendar: AcademicCalendar | None, year: str, semester: int) -> list[str]:
    """Grades exist only for a session that has ended, of an academic year the calendar knows."""
    if calendar is None:
        return [_("academic year %(year)s has no academic calendar; the calendar comes first.", year=year)]
    end = calendar.first_session_end if semester % 2 else calendar.second_session_end
    if end > today():
        return [
            _(
                "the session of semester %(semester)s in %(year)s ends on %(end)s; grades come after it.",
                semester=semester,
                year=year,
                end=format_day(end),
            )
        ]
    return []


def _upsert(plan: Plan, existing, values: dict) -> None:
    if existing is None:
        plan.create.append(values)
    elif changed := _diff(existing, values):
        plan.update.append((existing, changed))
    else:
        plan.unchanged += 1


PLANNERS = {"students": _plan_students, "curriculum": _plan_curriculum, "grades": _plan_grades}
MODELS = {"students": Student, "curriculum": CurriculumItem, "grades": Grade}


def plan_import(kind: str, filename: str, data: bytes) -> Plan:
    """Read and check the whole file; a plan with every bad row, or what importing it would change."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    plan = Plan(kind)
    try:
        header, rows = read_rows(filename, data)
    except ImportFileError as error:
        plan.errors.append(RowError(1, str(error)))
        return plan
    missing = [name for name, required in COLUMNS[kind] if required and name not in header]
    if missing:
        plan.errors.append(
            RowError(
                1,
                ngettext(
                    "missing column: %(missing)s; the header must name: %(names)s.",
                    "missing columns: %(missing)s; the header must name: %(names)s.",
                    len(missing),
                    missing=", ".join(missing),
                    names=", ".join(name for name, _required in COLUMNS[kind]),
                ),
            )
        )
        return plan
    if not rows:
        plan.errors.append(RowError(2, _("the file has a header but no data rows.")))
        return plan
    PLANNERS[kind](plan, rows)
    return plan


def apply_plan(plan: Plan) -> dict[str, int]:
    """Write a clean plan into the session (flushed, not committed); the counts of created/updated/unchanged."""
    if not plan.ok:
        raise ValueError("a plan with errors cannot be applied")
    model = MODELS[plan.kind]
    if plan.kind == "students":
        _record_email_changes(plan.update)
    for existing, changed in plan.update:
        for key, value in changed.items():
            setattr(existing, key, value)
    created = [model(**values) for values in plan.create]
    db.session.add_all(created)
    try:
        db.session.flush()
    except IntegrityError as error:  # a row the plan saw as new was written meanwhile
        raise ConcurrentChange(_("The data changed while you were importing; upload the file again.")) from error
    if plan.kind == "students":  # a new student's record starts on the timeline from status_since, else today
        enrol([student.id for student in created])
    if plan.kind == "grades":  # a passing grade clears the academic difference owed in that discipline
        clear_passed_debts(
            [values["student_id"] for values in plan.create]
            + [existing.student_id for existing, _changed in plan.update]
        )
    return plan.counts


def _record_email_changes(updates: list[tuple[Student, dict]]) -> None:
    """An e-mail an import changes is kept in the student's history and announced for the audit log."""
    moment, day = now(), today()
    changed = [(student, values["email"]) for student, values in updates if "email" in values]
    write_movements(
        [
            {
                "student_id": student.id,
                "kind": "import",
                "effective_date": day,
                "changes": {"email": [student.email, email]},
                "known_since": moment,
                "applied_at": moment,
            }
            for student, email in changed
        ],
        [None] * len(changed),
    )
    for student, email in changed:
        email_changed.send(student, old=student.email, new=email)


def run_import(kind: str, filename: str, data: bytes, *, dry_run: bool = False) -> Plan:
    """Plan, and apply when the file is clean and this is not a dry run."""
    plan = plan_import(kind, filename, data)
    if plan.ok and not dry_run:
        apply_plan(plan)
    return plan
