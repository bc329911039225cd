"""Competitive ranking for the vacant state grant and the President's / personal scholarships, and the council's
ranking list exported as XLSX and DOCX for the ministry.

Rules (DESIGN.md section 2):

- candidates are ranked by GPA, highest first; equal GPAs are broken by the grade class: only A/A- first, then
  only A..B-, then mixed; a tie left after that goes to more credits, then the name (alphabetical), and is flagged
  when it falls on the cut line, so the council decides it knowingly;
- the facts the rules read (GPA, letters, debts, F grades ever, retakes ever) come for all candidates in a fixed
  number of queries (`academic_facts`);
- the ministry deadlines for the ranking list are dated settings (`vacant_grant_deadlines`, month-day).

Kinds import only the pure part of this module; the bulk additions and exports import the operations lazily.
"""

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from core.db import db
from core.rules import rule
from students.academic import Grade
from students.grades import EXCELLENT, debts_for, records_for

UP_TO_B_MINUS = ("A", "A-", "B+", "B", "B-")
# Tie-break classes, best first.
ONLY_EXCELLENT, ONLY_UP_TO_B_MINUS, MIXED = 0, 1, 2
CLASS_LABELS = {ONLY_EXCELLENT: _l("only A/A-"), ONLY_UP_TO_B_MINUS: _l("only A..B-"), MIXED: _l("mixed")}
CLASS_WORDS = {  # for the ranking list, in the document's languages
    ONLY_EXCELLENT: ("только A/A-", "тек A/A-"),
    ONLY_UP_TO_B_MINUS: ("только A..B-", "тек A..B-"),
    MIXED: ("смешанные", "аралас"),
}


def tie_class(letters: Iterable[str]) -> int:
    letters = set(letters)
    if letters and letters <= set(EXCELLENT):
        return ONLY_EXCELLENT
    if letters and letters <= set(UP_TO_B_MINUS):
        return ONLY_UP_TO_B_MINUS
    return MIXED


@dataclass
class Academic:
    """What the competition rules look at for one student."""

    gpa: float | None = None
    credits: int = 0
    letters: set[str] = field(default_factory=set)
    debts: list[str] = field(default_factory=list)  # discipline codes of FX/F not retaken
    f_grades: list[str] = field(default_factory=list)  # discipline codes with an F, ever (retaken or not)
    retakes: list[str] = field(default_factory=list)  # discipline codes retaken, ever

    @property
    def tie_class(self) -> int:
        return tie_class(self.letters)


def academic_facts(
    student_ids: Iterable[int], academic_year: str | None = None, *, history: bool = True
) -> dict[int, Academic]:
    """Facts per student id in three queries (one with `history=False`): GPA, letters and credits of the grades
    that count (of `academic_year` when given), debts, and every F and retake in the student's whole history."""
    ids = list(dict.fromkeys(student_ids))
    result = {student_id: Academic() for student_id in ids}
    if not ids:
        return result
    for student_id, record in records_for(ids, academic_year).items():
        facts = result[student_id]
        facts.gpa, facts.credits, facts.letters = record.gpa, record.credits, set(record.letters)
    if not history:
        return result
    for student_id, grades in debts_for(ids).items():
        result[student_id].debts = sorted({grade.discipline_code for grade in grades})
    for student_id, code, letter, retake in db.session.execute(
        select(Grade.student_id, Grade.discipline_code, Grade.letter, Grade.is_retake)
        .where(Grade.student_id.in_(ids), or_(Grade.letter == "F", Grade.is_retake.is_(True)))
        .order_by(Grade.student_id, Grade.discipline_code)
    ):
        facts = result[student_id]
        if letter == "F" and code not in facts.f_grades:
            facts.f_grades.append(code)
        if retake and code not in facts.retakes:
            facts.retakes.append(code)
    return result


def sort_key(facts: Academic, name: str, student_id: int) -> tuple:
    """Highest GPA first; then the grade class; then more credits; then the name."""
    return (-(facts.gpa if facts.gpa is not None else -1.0), facts.tie_class, -facts.credits, name, student_id)


def merit(facts: Academic) -> tuple:
    """What the rules compare: two candidates with equal merit are tied, whatever their names."""
    return (facts.gpa, facts.tie_class, facts.credits)


# Dated settings -----------------------------------------------------------------------------------------------


def amount_table(table_rule: str, day: date) -> dict | None:
    """The entry of a dated amount table (a list of {"from": "YYYY-MM-DD", ...}) in force on `day`."""
    entries = [entry for entry in rule(table_rule) if date.fromisoformat(str(entry["from"])) <= day]
    return max(entries, key=lambda entry: date.fromisoformat(str(entry["from"])), default=None)


def next_deadline(day: date) -> date:
    """The next ministry deadline for the ranking list on or after `day` (5 August / 15 January by default)."""
    candidates = []
    for text in rule("vacant_grant_deadlines"):
        month, _dash, dom = str(text).partition("-")
        for year in (day.year, day.year + 1):
            candidates.append(date(year, int(month), int(dom)))
    return min(deadline for deadline in candidates if deadline >= day)


def parse_vacancies(value) -> tuple[dict[str, int], str | None]:
    """'6B06101:2=3, 6B04101:3=1' (or a mapping {"6B06101:2": 3}) as {"6B06101:2": 3}; (partial, error)."""
    pairs: list[tuple[str, object]]
    if isinstance(value, dict):
        pairs = [(str(key), count) for key, count in value.items()]
    elif isinstance(value, str):
        pairs = []
        for chunk in value.replace(";", ",").replace("\n", ",").split(","):
            chunk = chunk.strip()
            if not chunk:
                continue
            key, equals, count = chunk.partition("=")
            if not equals:
                return {}, _(
                    "Write each entry as programme code:course=number, e.g. 6B06101:2=3; got “%(chunk)s”.", chunk=chunk
                )
            pairs.append((key.strip(), count.strip()))
    else:
        return {}, _("Give the vacant grants as programme code:course=number, separated by commas.")
    if not pairs:
        return {}, _("Name at least one programme and course with its number of vacant grants, e.g. 6B06101:2=3.")
    result: dict[str, int] = {}
    for key, count in pairs:
        code, colon, course = key.partition(":")
        code = code.strip().upper()
        if not colon or not code or not course.strip().isdigit() or not 1 <= int(course) <= 7:
            return {}, _("“%(key)s” is not programme code:course (course 1 to 7), e.g. 6B06101:2.", key=key)
        try:
            number = int(count)
        except (TypeError, ValueError):
            number = -1
        if isinstance(count, bool) or number < 1 or number > 10_000:
            return {}, _(
                "The number of vacant grants for %(key)s must be a whole number from 1, got “%(n)s”.", key=key, n=count
            )
        normal = f"{code}:{int(course)}"
        if normal in result:
            return {}, _("%(key)s is named twice.", key=normal)
        result[normal] = number
    return result, None


def vacancies_text(vacancies: dict[str, int]) -> str:
    return ", ".join(f"{key}={count}" for key, count in vacancies.items())


# Bulk additions ------------------------------------------------------------------------------------------------


def add_paid_students(order, programme_id: int, course: int, actor) -> list:
    """Add as applicants every active paid student of one programme and course (the clerk then removes those who
    did not apply); each line is checked and ranked."""
    from orders import operations
    from orders.operations import InvalidInput
    from students.models import Group, Programme, Student

    if order.kind != "vacant_grant":
        raise InvalidInput({"order": _("Only a vacant grant order takes applicants by programme and course.")})
    if db.session.get(Programme, programme_id) is None:
        raise InvalidInput({"programme_id": _("There is no programme %(id)s.", id=programme_id)}, status=404)
    ids = list(
        db.session.scalars(
            select(Student.id)
            .join(Group, Group.id == Student.group_id)
            .where(
                Group.programme_id == programme_id,
                Student.course == course,
                Student.status == "active",
                Student.funding == "paid",
            )
            .order_by(Student.surname, Student.name, Student.id)
        )
    )
    if not ids:
        raise InvalidInput({"course": _("No active paid student studies in this programme and course.")})
    return operations.add_students(order, ids, actor)


def add_scholarship_candidates(order, actor, faculty_id: int | None = None) -> list:
    """Add every active student of an eligible course (setting `personal_scholarship_min_course`) whose grades of the
    order's academic year are all A/A-, optionally of one faculty; each line is checked and ranked by the quota."""
    from orders import operations
    from orders.operations import InvalidInput
    from students.models import Group, Programme, Student

    if order.kind not in ("president_scholarship", "personal_scholarship"):
        raise InvalidInput({"order": _("Only a President's or personal scholarship order takes candidates.")})
    courses = rule("personal_scholarship_min_course")
    if not courses:
        raise InvalidInput({"order": _("No level is eligible: set personal_scholarship_min_course.")})
    year = order.params["academic_year"]
    not_excellent = select(Grade.student_id).where(Grade.academic_year == year, Grade.letter.not_in(EXCELLENT))
    graded = select(Grade.student_id).where(Grade.academic_year == year)
    query = (
        select(Student.id)
        .join(Group, Group.id == Student.group_id)
        .join(Programme, Programme.id == Group.programme_id)
        .where(
            Student.status == "active",
            Student.id.in_(graded),
            Student.id.not_in(not_excellent),
            or_(*((Programme.level == level) & (Student.course >= int(first)) for level, first in courses.items())),
        )
        .order_by(Student.surname, Student.name, Student.id)
    )
    if faculty_id is not None:
        query = query.where(Programme.faculty_id == faculty_id)
    ids = list(db.session.scalars(query))
    if not ids:
        raise InvalidInput(
            {
                "faculty_id": _(
                    "No active student of an eligible course has only A and A- grades in %(year)s.", year=year
                )
            }
        )
    return operations.add_students(order, ids, actor)


# The council's ranking list ------------------------------------------------------------------------------------


@dataclass
class Row:
    rank: int | None
    name: str
    iin: str
    group: str
    gpa: float | None
    klass: int | None
    outcome: str
    reason: str
    tie: bool


@dataclass
class Section:
    key: str
    title: str
    places: int | None
    rows: list[Row]


DECISION_WORDS = {"in": ("рекомендован(а)", "ұсынылды"), "out": ("не рекомендован(а)", "ұсынылмады")}


def sections(order, lines) -> list[Section]:
    """The ranking list by competition (programme and course for a vacant grant; the university for a
    scholarship): ranked candidates first, then those excluded, each with the reason in Russian."""
    from orders.registry import get_kind

    kind = get_kind(order.kind)
    grouped: dict[str, list] = {}
    for line in lines:
        grouped.setdefault(line.params.get("key") or "", []).append(line)
    places = order.params.get("vacancies") or {}
    result = []
    for key in sorted(grouped):
        ranked = sorted(
            grouped[key],
            key=lambda line: (line.params.get("rank") is None, line.params.get("rank") or 0, line.student.full_name),
        )
        rows = [
            Row(
                rank=line.params.get("rank"),
                name=line.student.full_name,
                iin=line.student.iin,
                group=line.student.group.name,
                gpa=line.params.get("gpa"),
                klass=line.params.get("tie_class"),
                outcome=line.params.get("outcome", "out"),
                reason=kind.reason_words(line, "ru"),
                tie=bool(line.params.get("tie")),
            )
            for line in ranked
        ]
        result.append(
            Section(
                key=key,
                title=kind.section_title(key, ranked[0]),
                places=places.get(key) if places else order.params.get("quota"),
                rows=rows,
            )
        )
    return result


HEADERS = (
    "№",
    "ФИО / Аты-жөні",
    "ИИН / ЖСН",
    "Группа / Топ",
    "GPA",
    "Оценки / Бағалар",
    "Решение / Шешім",
    "Причина / Себебі",
)


def _cells(row: Row) -> list:
    klass = CLASS_WORDS[row.klass][0] if row.klass is not None else ""
    decision = DECISION_WORDS[row.outcome][0] + (" (равный балл на границе)" if row.tie else "")
    return [
        row.rank or "—",
        row.name,
        row.iin,
        row.group,
        row.gpa if row.gpa is not None else "—",
        klass,
        decision,
        row.reason,
    ]


def export_xlsx(order, lines) -> bytes:
    """The ranking list as a workbook: one sheet, a block per competition."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Рейтинг"
    sheet.append([f"{order.title} ({order.label})"])
    sheet["A1"].font = Font(bold=True)
    for section in sections(order, lines):
        sheet.append([])
        sheet.append([section.title + (f" — мест: {section.places}" if section.places is not None else "")])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(list(HEADERS))
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append(_cells(row))
    for column, width in zip("ABCDEFGH", (6, 36, 14, 14, 8, 16, 26, 60), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_docx(order, lines) -> bytes:
    """The ranking list as a Word document for the council's minutes and the ministry."""
    from docx import Document

    from core.clock import today

    document = Document()
    document.add_heading("Рейтинговый список претендентов / Үміткерлердің рейтингтік тізімі", level=1)
    document.add_paragraph(f"{order.title} ({order.label}), {today():%d.%m.%Y}")
    for section in sections(order, lines):
        document.add_heading(
            section.title + (f" — мест: {section.places}" if section.places is not None else ""), level=2
        )
        table = document.add_table(rows=1, cols=len(HEADERS))
        table.style = "Table Grid"
        for cell, header in zip(table.rows[0].cells, HEADERS, strict=True):
            cell.text = header
        for row in section.rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, _cells(row), strict=True):
                cell.text = str(value)
    document.add_paragraph("")
    document.add_paragraph("Председатель комиссии / Комиссия төрағасы: ____________________")
    document.add_paragraph("Секретарь / Хатшы: ____________________")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
