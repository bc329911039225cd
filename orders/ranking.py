"""The rules of the competitive ranking shared by the vacant state grant and the President's / personal scholarships
(their kinds, bulk additions and the council's ranking list are in `orders/kinds/competitions/`).

Rules (DESIGN.md section 2):

- candidates are ranked by GPA, highest first; equal GPAs are broken by the grade class: only A/A- first, then
  only A..B-, then mixed; a tie left after that goes to more credits, then the name (alphabetical), and is flagged
  when it falls on the cut line, so the council decides it knowingly;
- the facts the rules read (GPA, letters, debts, F grades ever, retakes ever) come for all candidates in a fixed
  number of queries (`academic_facts`);
- the ministry deadlines for the ranking list are dated settings (`vacant_grant_deadlines`, month-day).
"""

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
