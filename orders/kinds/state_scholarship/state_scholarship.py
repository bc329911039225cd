"""State scholarship appointment (назначение государственной стипендии / мемлекеттік стипендия тағайындау), per
semester and in bulk, on the route "money" (deans, registrar office, finance, rector).

The order's `semester` is the semester of academic year `academic_year` the scholarship is paid for; the result that
decides is that of the last session before it (Government Decree No. 116, DESIGN.md section 2):

- semester 2 (spring): the winter session of the same year, i.e. the grades of `academic_year`, semester number
  2*course-1 of the student's course. Paid from the month after the first session ends (`first_session_end` of the
  year's AcademicCalendar) to the month the second semester ends (`second_semester_end`), and then July and August,
  paid together with June: e.g. 2027-02 .. 2027-08. A student of the final course (course = the programme's
  duration) graduates and is paid to the end of the semester only (no July, August).
- semester 1 (autumn): the summer session of the previous year, i.e. the grades of the previous academic year,
  semester number 2*course-2 (the student's course is the new one: promotion has taken effect). Paid from the month
  the first semester starts (`first_semester_start`: July and August were paid with June by the spring order) to
  the month the first session ends (`first_session_end`): e.g. 2026-09 .. 2027-01. A student of course 1 has no
  session yet: first-year students get the base amount in their first period.

A grade counts as the student's current attempt at the session's discipline (a retake replaces the grade it
retakes, see `students.grades`). Who is in (outcome "in"):
- only excellent grades (A, A-): the excellent amount (base + 15%), why `scholarship.excellent`;
- only good and excellent grades (every letter A .. C+): the base amount, why `scholarship.good`;
- first period (course 1, semester 1): the base amount, why `scholarship.first_period`;
- a valid category on the order's effective date (orphan, visual or hearing disability, `students.categories`) and
  no academic debt: the base amount, or the excellent one with only A/A-, why `scholarship.category`.
Who is out (outcome "out", amount 0, no months; listed in the document's appendix with the reason, never dropped
and never blocking): `scholarship.debt` (an FX/F not retaken with a pass, any semester), `scholarship.grade_c` (a
grade below C+: C, C-, D+, D in the session), `scholarship.no_grades` (no grade in the session),
`scholarship.no_amount` (no amount for the student's level in the table).

The amount comes from `rule("scholarship_amounts")`: the table in force (latest "from" on or before) on the first
day of the first paid month, key = the programme's level, "<level>_excellent" for excellent. Each line records
{"amount", "months", "table_from", "outcome", "why"} (plus "facts" for the wording). The figures are computed while
the order is a draft and frozen from submission on: the visas approve the sums, and a later table or grade never
changes a submitted or signed order. Signing changes nothing in the students table: the scholarship register reads
the lines of signed orders of this kind.

Refusals (blocking) only for real errors: the student is not active or not on a state grant (at drafting or
signing), or already has a scholarship line for the same academic year and semester in another order (open, or
signed, not revoked, with outcome "in"). Open orders of other kinds do not conflict with a scholarship line.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validates_schema
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from core.db import db
from core.formatting import format_day, format_money
from core.rules import rule
from orders.kind import MONTHLY, LineContext, OrderKind, academic_year_field, parse_academic_year, refused_for
from orders.kinds.state_scholarship.blueprints import api, pages
from orders.models import Order, OrderLine
from orders.params import Integer, OneOf, ParamsSchema, effective_date_field, messages, meta
from orders.wording import describe_cohort, describe_student
from students.academic import AcademicCalendar, Grade
from students.categories import categories_on
from students.grades import DEBT_LETTERS, EXCELLENT, GOOD, _current
from students.models import Faculty, Student
from workflow.engine import Refusal

CATEGORY_WORDS = {
    "ru": {
        "orphan": "сирота или оставшийся без попечения родителей",
        "visual_disability": "лицо с инвалидностью по зрению",
        "hearing_disability": "лицо с инвалидностью по слуху",
    },
    "kk": {
        "orphan": "жетім немесе ата-анасының қамқорлығынсыз қалған",
        "visual_disability": "көру қабілеті бойынша мүгедектігі бар",
        "hearing_disability": "есту қабілеті бойынша мүгедектігі бар",
    },
}


def previous_year(year: str) -> str:
    start = int(year[:4]) - 1
    return f"{start}-{start + 1}"


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _next(month: tuple[int, int]) -> tuple[int, int]:
    following = date(*month, 1) + relativedelta(months=1)
    return following.year, following.month


def month_range(first: tuple[int, int], last: tuple[int, int]) -> list[str]:
    months, current = [], first
    while current <= last:
        months.append(f"{current[0]:04d}-{current[1]:02d}")
        current = _next(current)
    return months


def paid_months(calendar: AcademicCalendar, semester: int, final_course: bool) -> list[str]:
    """The months one line pays, by the rule in the module docstring."""
    if semester == 1:
        return month_range(_month(calendar.first_semester_start), _month(calendar.first_session_end))
    last = _month(calendar.second_semester_end)
    if not final_course:
        last = max(last, (calendar.second_semester_end.year, 8))  # July and August, paid together with June
    return month_range(_next(_month(calendar.first_session_end)), last)


def amount_table(day: date) -> dict | None:
    """The amounts table in force on `day`: the one with the latest "from" on or before it."""
    tables = [t for t in rule("scholarship_amounts") if date.fromisoformat(str(t["from"])) <= day]
    return max(tables, key=lambda t: date.fromisoformat(str(t["from"])), default=None)


@dataclass(frozen=True)
class SessionGrade:
    code: str
    name: str
    points: int
    letter: str


def _in_scope(column, lines: list[OrderLine], order: Order):
    """`column IN (...)` for the students of `lines`: a subquery on the order's lines when they are all of them."""
    if order.id is not None and lines is order.__dict__.get("lines"):
        return column.in_(select(OrderLine.student_id).where(OrderLine.order_id == order.id))
    return column.in_([line.student_id for line in lines])


def session_grades(lines: list[OrderLine], order: Order, year: str, semester: int) -> dict[int, list[SessionGrade]]:
    """Per student, the current grade of every discipline of the session that decides (one query)."""
    session = aliased(Grade)
    if semester == 2:
        session_year, number = year, 2 * Student.course - 1
    else:
        session_year, number = previous_year(year), 2 * Student.course - 2
    in_session = exists().where(
        session.student_id == Grade.student_id,
        session.discipline_code == Grade.discipline_code,
        session.academic_year == session_year,
        session.semester == number,
    )
    result: dict[int, list[SessionGrade]] = {}
    for student_id, code, name, points, letter in db.session.execute(
        select(Grade.student_id, Grade.discipline_code, Grade.discipline_name, Grade.points, Grade.letter)
        .join(Student, Student.id == Grade.student_id)
        .where(_in_scope(Grade.student_id, lines, order), in_session, _current())
        .order_by(Grade.student_id, Grade.points, Grade.discipline_code)
    ):
        result.setdefault(student_id, []).append(SessionGrade(code, name, points, letter))
    return result


def debts(lines: list[OrderLine], order: Order) -> dict[int, list[SessionGrade]]:
    """Academic debts per student: FX/F grades not superseded by a later attempt, any semester (one query)."""
    result: dict[int, list[SessionGrade]] = {}
    for student_id, code, name, points, letter in db.session.execute(
        select(Grade.student_id, Grade.discipline_code, Grade.discipline_name, Grade.points, Grade.letter)
        .where(_in_scope(Grade.student_id, lines, order), Grade.letter.in_(DEBT_LETTERS), _current())
        .order_by(Grade.student_id, Grade.academic_year, Grade.semester, Grade.discipline_code)
    ):
        result.setdefault(student_id, []).append(SessionGrade(code, name, points, letter))
    return result


def duplicates(lines: list[OrderLine], order: Order) -> dict[int, list[tuple[int, str]]]:
    """Other orders of this kind for the same year and semester naming these students: open ones (drafts only while
    this order is a draft itself), and signed, not revoked ones where the student is in (one query)."""
    states = ("rejected", "withdrawn") if order.state == "draft" else ("rejected", "withdrawn", "draft")
    rows = db.session.execute(
        select(OrderLine.student_id, Order.id, Order.number_label, Order.state, OrderLine.params)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.kind == StateScholarship.name,
            Order.id != order.id,
            Order.state.not_in(states),
            or_(Order.superseded_as.is_(None), Order.superseded_as != "revoked"),
            Order.params["academic_year"].as_string() == order.params["academic_year"],
            Order.params["semester"].as_integer() == order.params["semester"],
            _in_scope(OrderLine.student_id, lines, order),
        )
    )
    result: dict[int, list[tuple[int, str]]] = {}
    for student_id, order_id, label, state, params in rows:
        if state == "signed" and (params or {}).get("outcome") != "in":
            continue
        result.setdefault(student_id, []).append((order_id, label or f"#{order_id}"))
    return result


def compute(
    line: OrderLine,
    semester: int,
    calendar: AcademicCalendar,
    grades: list[SessionGrade],
    debt: list[SessionGrade],
    categories: set[str],
) -> dict:
    """The line's params by the rules of the module docstring."""
    student = line.student
    programme = student.group.programme
    months = paid_months(calendar, semester, student.course >= programme.duration_years)
    table = amount_table(date.fromisoformat(months[0] + "-01")) if months else None
    table_from = str(table["from"]) if table else None

    def out(why: str, facts: dict) -> dict:
        return {"amount": 0, "months": [], "table_from": table_from, "outcome": "out", "why": why, "facts": facts}

    if debt:
        return out("scholarship.debt", {"grades": [[g.code, g.name, g.letter, g.points] for g in debt]})
    first_period = semester == 1 and student.course == 1
    letters = {g.letter for g in grades}
    excellent = bool(letters) and letters <= set(EXCELLENT)
    facts: dict[str, Any] = {}
    if categories:
        why, facts = "scholarship.category", {"categories": sorted(categories)}
    elif first_period:
        why = "scholarship.first_period"
    elif not grades:
        return out("scholarship.no_grades", {})
    elif not letters <= set(EXCELLENT + GOOD):
        low = next(g for g in grades if g.letter not in EXCELLENT + GOOD)  # ordered by points: the lowest
        return out("scholarship.grade_c", {"grades": [[low.code, low.name, low.letter, low.points]]})
    else:
        why = "scholarship.excellent" if excellent else "scholarship.good"
    key = f"{programme.level}_excellent" if excellent and not first_period else programme.level
    if table is None or table.get(key) is None:
        return out("scholarship.no_amount", {"level": programme.level})
    return {
        "amount": int(table[key]),
        "months": months,
        "table_from": table_from,
        "outcome": "in",
        "why": why,
        "facts": facts,
    }


# The kind ------------------------------------------------------------------------------------------------------


def _int_list(value: Any, low: int, high: int) -> list[int] | None:
    """[] for empty (all); a list of whole numbers in low..high; None when anything else."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        return None
    numbers = []
    for item in value:
        if isinstance(item, bool):
            return None
        try:
            number = int(item)
        except (TypeError, ValueError):
            return None
        if not low <= number <= high:
            return None
        numbers.append(number)
    return sorted(set(numbers))


class NumberList(fields.List):
    """Whole numbers from `low` to `high`, as a list or as text separated by commas; none given: [] (all)."""

    def __init__(self, low: int, high: int, message: str, **kwargs):
        super().__init__(fields.Integer(), load_default=list, **kwargs)
        self.low, self.high, self.message = low, high, message

    def _deserialize(self, value, attr, data, **kwargs) -> list[int]:
        numbers = _int_list(value, self.low, self.high)
        if numbers is None:
            raise ValidationError(str(self.message))
        return numbers


def faculty_choices() -> list[tuple[str, str]]:
    language = str(get_locale())
    return [(str(f.id), f.name(language)) for f in db.session.scalars(select(Faculty).order_by(Faculty.code))]


SEMESTER_MESSAGE = _l("Choose the semester paid: 1 or 2.")


class StateScholarshipParams(ParamsSchema):
    basis_help = _l("e.g. the results of the examination session, the scholarship committee's minutes.")
    academic_year = academic_year_field(_l("e.g. 2026-2027."))
    semester = Integer(
        required=True,
        validate=OneOf([2, 1], SEMESTER_MESSAGE),
        error_messages=messages(SEMESTER_MESSAGE),
        metadata=meta(
            _l("Semester paid"),
            _l("The months follow from the academic calendar of the year."),
            choices=[("2", _l("2 (spring: by the winter session)")), ("1", _l("1 (autumn: by the summer session)"))],
        ),
    )
    faculties = NumberList(
        1,
        2**31 - 1,
        _l("Give the faculties as a list of ids, or none for every faculty."),
        metadata=meta(_l("Faculties"), _l("None chosen: every faculty."), choices=faculty_choices, scope=True),
    )
    courses = NumberList(
        1,
        7,
        _l("Give the courses as a list of numbers 1 to 7, or none for every course."),
        metadata=meta(
            _l("Courses"), _l("None chosen: every course."), choices=[(str(n), str(n)) for n in range(1, 8)], scope=True
        ),
    )
    effective_date = effective_date_field(_l("Categories (orphans, disabilities) are taken as valid on this day."))

    @validates_schema(skip_on_field_errors=False)
    def _calendar_entered(self, data, **kwargs):
        year = data.get("academic_year")
        if (
            year
            and parse_academic_year(year)
            and not db.session.scalar(select(AcademicCalendar.id).where(AcademicCalendar.year == year))
        ):
            raise ValidationError(
                _(
                    "There is no academic calendar for %(year)s: the months paid follow from it. Add the calendar "
                    "first.",
                    year=year,
                ),
                "academic_year",
            )


class StateScholarship(OrderKind):
    name = "state_scholarship"
    route = "money"
    changes_record = False
    title_ru = "О назначении государственной стипендии"
    title_kk = "Мемлекеттік стипендия тағайындау туралы"
    preamble_ru = (
        "В соответствии с Правилами назначения, выплаты и размерами государственных стипендий "
        "обучающимся в организациях образования, утвержденными постановлением Правительства Республики "
        "Казахстан от 7 февраля 2008 года № 116, по итогам экзаменационной сессии,"
    )
    preamble_kk = (
        "Қазақстан Республикасы Үкіметінің 2008 жылғы 7 ақпандағы № 116 қаулысымен бекітілген Білім беру "
        "ұйымдарында білім алушыларға мемлекеттік стипендияларды тағайындау, төлеу қағидаларына және "
        "олардың мөлшерлеріне сәйкес, емтихан сессиясының қорытындылары бойынша"
    )
    appendix_title_ru = "Приложение: обучающиеся, которым стипендия не назначена, с причиной"
    appendix_title_kk = "Қосымша: стипендия тағайындалмаған білім алушылар, себебі көрсетіле отырып"
    params_schema = StateScholarshipParams
    labels = {
        "state_scholarship": _l("state scholarship"),
        "state_scholarship_fill": _l("Add the students in scope"),
    }
    blueprints = (pages,)
    api_blueprints = (api,)
    new_order_links = ("orders/_scholarship_new_link.html",)
    pays = MONTHLY
    paid_only_on_grant = True

    def label(self) -> str:
        return _("State scholarship")

    def line_params(self, order: Order) -> tuple[dict, date]:
        return {"outcome": None}, date.fromisoformat(order.params["effective_date"])

    def gather(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        return {"duplicates": duplicates(lines, order)}

    def fill_params(self, order: Order, lines: list[OrderLine], facts: dict[str, Any]) -> None:
        """Each line's outcome, amount and months from the session's grades (while a draft, every line; later, the
        lines not yet decided)."""
        pending = [line for line in lines if line.params.get("outcome") is None] if order.state != "draft" else lines
        if not pending:
            return
        year, semester = order.params["academic_year"], order.params["semester"]
        calendar = db.session.scalar(select(AcademicCalendar).where(AcademicCalendar.year == year))
        if calendar is None:
            return
        whole = pending is lines
        scope_lines = lines if whole else pending
        grades = session_grades(scope_lines, order, year, semester)
        debt = debts(scope_lines, order)
        ids = (
            select(OrderLine.student_id).where(OrderLine.order_id == order.id)
            if whole and lines is order.__dict__.get("lines")
            else [line.student_id for line in pending]
        )
        categories = categories_on(ids, date.fromisoformat(order.params["effective_date"]))
        for line in pending:
            sid = line.student_id
            params = compute(
                line, semester, calendar, grades.get(sid, []), debt.get(sid, []), categories.get(sid, set())
            )
            if line.params != params:
                line.params = params

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: a state scholarship is appointed only to active students.")
            refusals.append(refused_for(student, "status", "scholarship.status", message))
        if student.funding != "grant":
            message = _(
                "%(name)s does not study on a state grant (funding: %(funding)s): a state scholarship is for "
                "state-grant students only."
            )
            refusals.append(refused_for(student, "funding", "scholarship.funding", message))
        if line.params.get("outcome") is None:
            refusals.append(
                Refusal(
                    "scholarship.calendar",
                    _(
                        "No academic calendar for %(year)s: the months paid cannot be computed.",
                        year=line.order.params.get("academic_year"),
                    ),
                    {},
                    absolute=True,
                )
            )
        for order_id, label in context.facts.get("duplicates", {}).get(student.id, []):
            refusals.append(
                Refusal(
                    "scholarship.duplicate",
                    _(
                        "%(name)s already has a state scholarship line for this semester in order %(label)s.",
                        name=student.full_name,
                        label=label,
                    ),
                    {"order_id": order_id},
                )
            )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        if line.params.get("outcome") != "in":
            return {}
        return {"scholarship": [None, line.params["amount"]]}

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {}  # nothing in the students table: the register reads the signed lines

    # Wording ----------------------------------------------------------------------------------------------------

    def reason_text(self, line: OrderLine, language: str) -> str:
        """Why the line is in or out, in 'ru', 'kk' or the interface language ('ui')."""
        params = line.params
        why, facts = params.get("why"), params.get("facts") or {}
        grades = facts.get("grades") or []
        listed = ", ".join(f"{letter} ({points}) — {code} {name}" for code, name, letter, points in grades)
        if language == "ui":
            texts = {
                "scholarship.debt": _("academic debt: %(list)s", list=listed),
                "scholarship.grade_c": _("a grade below C+: %(list)s", list=listed),
                "scholarship.no_grades": _("no grades of the session"),
                "scholarship.no_amount": _("no amount set for the %(level)s level", level=facts.get("level")),
                "scholarship.excellent": _("only excellent grades (+15%)"),
                "scholarship.good": _("only good and excellent grades"),
                "scholarship.first_period": _("first-year student in the first period"),
                "scholarship.category": _(
                    "social category, no academic debt: %(c)s", c=", ".join(facts.get("categories", []))
                ),
            }
            return texts.get(why, why or "")
        if language == "kk":
            texts = {
                "scholarship.debt": f"академиялық берешек: {listed}",
                "scholarship.grade_c": f"C+ төмен баға: {listed}",
                "scholarship.no_grades": "сессия бағалары жоқ",
                "scholarship.no_amount": "білім деңгейі үшін стипендия мөлшері белгіленбеген",
            }
        else:
            texts = {
                "scholarship.debt": f"академическая задолженность: {listed}",
                "scholarship.grade_c": f"оценка ниже C+: {listed}",
                "scholarship.no_grades": "нет оценок экзаменационной сессии",
                "scholarship.no_amount": "размер стипендии для уровня обучения не установлен",
            }
        if why == "scholarship.category":
            return ", ".join(CATEGORY_WORDS[language].get(c, c) for c in facts.get("categories", []))
        return texts.get(why, "")

    def item_text(self, line: OrderLine, language: str) -> str:
        params = line.params
        if params.get("outcome") != "in":
            student = describe_student(line.student, language)
            reason = self.reason_text(line, language)
            if language == "kk":
                return f"{student}: мемлекеттік стипендия тағайындалмайды ({reason})."
            return f"{student}: государственная стипендия не назначается ({reason})."
        student = describe_student(line.student, language, "dative")
        months = params["months"]
        first = date.fromisoformat(months[0] + "-01")
        until = date.fromisoformat(months[-1] + "-01") + relativedelta(day=31)  # the last day of the last month
        amount = format_money(params["amount"])
        summer = any(month.endswith(("-07", "-08")) for month in months)
        category = params.get("why") == "scholarship.category"
        if language == "kk":
            text = (
                f"{student} {format_day(first, 'kk')} бастап {format_day(until, 'kk')} дейін ай сайын {amount} "
                "теңге мөлшерінде мемлекеттік стипендия тағайындалсын"
            )
            if category:
                text += f" ({self.reason_text(line, 'kk')})"
            if summer:
                text += "; шілде және тамыз айларының стипендиясы маусым айының стипендиясымен бірге төленсін"
            return text + "."
        text = (
            f"Назначить государственную стипендию {student} в размере {amount} тенге ежемесячно "
            f"с {format_day(first, 'ru')} по {format_day(until, 'ru')}"
        )
        if category:
            text += f" ({self.reason_text(line, 'ru')})"
        if summer:
            text += "; стипендию за июль и август выплатить вместе со стипендией за июнь"
        return text + "."

    def table_row(self, line: OrderLine, language: str) -> tuple[str, str] | None:
        """Appointed students of one group share the period; each row gives the amount (and a category's reason)."""
        params = line.params
        if params.get("outcome") != "in":
            return None
        months = params["months"]
        first = format_day(date.fromisoformat(months[0] + "-01"), language)
        until = format_day(date.fromisoformat(months[-1] + "-01") + relativedelta(day=31), language)
        summer = any(month.endswith(("-07", "-08")) for month in months)
        details = f"{format_money(params['amount'])} " + ("теңге" if language == "kk" else "тенге")
        if params.get("why") == "scholarship.category":
            details += f" ({self.reason_text(line, language)})"
        if language == "kk":
            text = (
                f"{describe_cohort(line.student, 'kk', 'dative')} {first} бастап {until} дейін ай сайын тізімде "
                "көрсетілген мөлшерде мемлекеттік стипендия тағайындалсын"
            )
            if summer:
                text += "; шілде және тамыз айларының стипендиясы маусым айының стипендиясымен бірге төленсін"
            return text + ":", details
        text = (
            f"Назначить государственную стипендию {describe_cohort(line.student, 'ru', 'dative')} ежемесячно "
            f"с {first} по {until} в размере согласно списку"
        )
        if summer:
            text += "; стипендию за июль и август выплатить вместе со стипендией за июнь"
        return text + ":", details

    def appendix_text(self, line: OrderLine, language: str) -> str | None:
        """Lines out go to the document's appendix with the reason, not to the numbered items."""
        if line.params.get("outcome") == "in":
            return None
        student = line.student
        return (
            f"{student.full_name} (ИИН {student.iin}), {student.group.name}: {self.reason_text(line, language)}"
            if language == "ru"
            else f"{student.full_name} (ЖСН {student.iin}), {student.group.name}: {self.reason_text(line, language)}"
        )
