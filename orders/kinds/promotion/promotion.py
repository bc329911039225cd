"""Course promotion (перевод на следующий курс / келесі курсқа көшіру), drafted in bulk at the end of the year.

A student is promoted when the curriculum of the current year (every discipline of the programme in semesters
2*course-1 and 2*course) has a passing grade (retakes count), no academic debt (FX/F not retaken) is left, and the
GPA of the order's academic year reaches `rule("transfer_gpa")[level][course]`. Final-year students are not promoted.

Signing moves each student to course + 1 in the next year's group of the same programme, language and study form.
When there are several such groups the one whose name sorts first is taken. When there is none, `prepare` creates
it, named `<programme code>-<course><К|Р|А>` (language of instruction kk/ru/en), with `з` appended for part-time
study, and `-2`, `-3`... when that name is taken (e.g. `6B06101-2К`, `6B06101-2Рз`).

The same academic facts decide, for a refused student, whether the right next order is a repeat year or an
expulsion for academic failure (see `next_step`); `drafting.py` drafts those orders.
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, exists, func, or_, select

from core.db import db
from core.formatting import format_day
from core.rules import rule
from orders.kind import LineContext, OrderKind, academic_year_field, refused_for
from orders.kinds.promotion.blueprints import api, pages
from orders.models import Order, OrderLine
from orders.params import ParamsSchema, effective_date_field
from orders.wording import describe_cohort, describe_student
from students.academic import CurriculumItem, Grade
from students.grades import DEBT_LETTERS, _current
from students.models import Group, Student, StudentMovement
from workflow.engine import Refusal

LANGUAGE_LETTER = {"kk": "К", "ru": "Р", "en": "А"}
ACADEMIC_RULES = ("promotion.curriculum", "promotion.debts", "promotion.gpa")


def _names(items) -> str:
    return "; ".join(f"{code} {name}" for code, name in items)


# Academic facts, gathered for all lines at once ----------------------------------------------------------------


@dataclass
class Standing:
    """One student's academic standing for the year: what promotion looks at."""

    gpa: float | None = None
    missing: list[tuple[str, str]] = field(default_factory=list)  # curriculum items without any grade
    debts: list[tuple[str, str, int]] = field(default_factory=list)  # (code, name, credits) of FX/F not retaken
    repeated_courses: list[int] = field(default_factory=list)  # courses of earlier signed repeat years
    repeated: int = 0  # repeat years already signed for the current course

    @property
    def debt_credits(self) -> int:
        return sum(credits for _code, _name, credits in self.debts)


def _in_scope(column, lines: list[OrderLine], order: Order | None):
    """`column IN (...)` for the students of `lines`: a subquery on the order's lines when `lines` are all of
    `order`'s (flushed: `check_lines` flushes first), so no statement carries thousands of parameters."""
    if order is not None and order.id is not None and lines is order.__dict__.get("lines"):
        return column.in_(select(OrderLine.student_id).where(OrderLine.order_id == order.id))
    return column.in_([line.student_id for line in lines])


def gather_standing(lines: list[OrderLine], academic_year: str, order: Order | None = None) -> dict[int, Standing]:
    """Standing per student id of these lines, in four queries whatever their number, each returning only what the
    rules look at: the current year's curriculum items without a grade, the debts (FX/F not retaken), the year's GPA
    (one row per student), earlier repeat years. Pass `order` when `lines` are all its lines: the students are then
    named by a subquery instead of a list of ids."""
    result = {line.student_id: Standing() for line in lines}
    if not result:
        return result
    # Curriculum items of the student's current year without any grade (a failed one is a debt, not missing).
    graded = exists().where(Grade.student_id == Student.id, Grade.discipline_code == CurriculumItem.code)
    for student_id, code, name in db.session.execute(
        select(Student.id, CurriculumItem.code, CurriculumItem.name_ru)
        .join(Group, Group.id == Student.group_id)
        .join(
            CurriculumItem,
            and_(
                CurriculumItem.programme_id == Group.programme_id,
                or_(CurriculumItem.semester == 2 * Student.course - 1, CurriculumItem.semester == 2 * Student.course),
            ),
        )
        .where(_in_scope(Student.id, lines, order), ~graded)
        .order_by(Student.id, CurriculumItem.semester, CurriculumItem.code)
    ):
        result[student_id].missing.append((code, name))
    for student_id, code, name, credits in db.session.execute(
        select(Grade.student_id, Grade.discipline_code, Grade.discipline_name, Grade.credits)
        .where(_in_scope(Grade.student_id, lines, order), Grade.letter.in_(DEBT_LETTERS), _current())
        .order_by(Grade.student_id, Grade.academic_year, Grade.semester, Grade.discipline_code)
    ):
        result[student_id].debts.append((code, name, credits))
    # The year's GPA as `students.grades.records_for` figures it (credit-weighted, grades that count), one row a
    # student.
    for student_id, points_sum, credit_sum in db.session.execute(
        select(Grade.student_id, func.sum(Grade.grade_point * Grade.credits), func.sum(Grade.credits))
        .where(_in_scope(Grade.student_id, lines, order), Grade.academic_year == academic_year, _current())
        .group_by(Grade.student_id)
    ):
        if credit_sum:
            result[student_id].gpa = round(points_sum / credit_sum, 2)
    repeats = db.session.execute(
        select(StudentMovement.student_id, StudentMovement.changes)
        .join(OrderLine, OrderLine.id == StudentMovement.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            _in_scope(StudentMovement.student_id, lines, order),
            StudentMovement.kind == "repeat_year",
            or_(Order.superseded_as.is_(None), Order.superseded_as != "revoked"),
        )
    ).all()
    if repeats:
        for student_id, changes in repeats:
            course = (changes or {}).get("course")
            if isinstance(course, list) and course:
                result[student_id].repeated_courses.append(course[0])
        for line in lines:
            standing = result[line.student_id]
            if standing.repeated_courses:
                standing.repeated = standing.repeated_courses.count(line.student.course)
    return result


def transfer_gpa(level: str, course: int) -> float | None:
    thresholds = rule("transfer_gpa").get(level) or {}
    value = thresholds.get(course, thresholds.get(str(course)))
    return float(value) if value is not None else None


def next_step(standing: Standing) -> str:
    """For a student who may not be promoted: 'expulsion' when the debts exceed
    rule('promotion_expulsion_debt_credits') credits or the course was already repeated
    rule('repeat_year_max_per_course') times; otherwise 'repeat_year'."""
    if standing.debt_credits > rule("promotion_expulsion_debt_credits"):
        return "expulsion"
    if standing.repeated >= rule("repeat_year_max_per_course"):
        return "expulsion"
    return "repeat_year"


def outcome_from(refusals: list[dict], overridden: bool) -> str:
    """promote (eligible, or accepted by the registrar head), repeat_year or expulsion (the year's results refuse
    promotion; which one is `next_step`), or blocked (status, another open order: nothing to draft for it here)."""
    if not refusals or overridden:
        return "promote"
    if {refusal["rule"] for refusal in refusals} - set(ACADEMIC_RULES):
        return "blocked"
    steps = {refusal.get("data", {}).get("next_step") for refusal in refusals}
    return "expulsion" if "expulsion" in steps else "repeat_year"


def academic_refusals(student: Student, standing: Standing, academic_year: str) -> list[Refusal]:
    """Why the year's results do not allow promotion: missing grades, debts, a GPA below the transfer GPA.
    Each refusal's data names the next step ('repeat_year' or 'expulsion') and the facts behind it."""
    level, course = student.group.programme.level, student.course
    threshold = transfer_gpa(level, course)
    if (
        not standing.missing
        and not standing.debts
        and threshold is not None
        and standing.gpa is not None
        and standing.gpa >= threshold
    ):
        return []  # the common case, without building any message
    refusals = []
    step = next_step(standing)
    common = {"next_step": step, "debt_credits": standing.debt_credits, "repeated": standing.repeated}
    if standing.missing:
        refusals.append(
            Refusal(
                "promotion.curriculum",
                ngettext(
                    "%(name)s has no grade in %(num)s discipline of the course %(course)s curriculum: %(list)s.",
                    "%(name)s has no grade in %(num)s disciplines of the course %(course)s curriculum: %(list)s.",
                    len(standing.missing),
                    name=student.full_name,
                    course=course,
                    list=_names(standing.missing),
                ),
                {"missing": [code for code, _name in standing.missing], **common},
            )
        )
    if standing.debts:
        refusals.append(
            Refusal(
                "promotion.debts",
                ngettext(
                    "%(name)s has academic debts (FX/F not retaken): %(list)s; %(credits)s credit in all.",
                    "%(name)s has academic debts (FX/F not retaken): %(list)s; %(credits)s credits in all.",
                    standing.debt_credits,
                    name=student.full_name,
                    list=_names((c, n) for c, n, _cr in standing.debts),
                    credits=standing.debt_credits,
                ),
                {"debts": [code for code, _n, _cr in standing.debts], **common},
            )
        )
    if threshold is None:
        refusals.append(
            Refusal(
                "promotion.gpa",
                _(
                    "No transfer GPA is set for course %(course)s of the %(level)s level; set it in the rule "
                    "transfer_gpa.",
                    course=course,
                    level=level,
                ),
                {"gpa": standing.gpa, "threshold": None, **common},
            )
        )
    elif standing.gpa is None:
        refusals.append(
            Refusal(
                "promotion.gpa",
                _(
                    "%(name)s has no grades in %(year)s, so no GPA; the transfer GPA for course %(course)s is "
                    "%(threshold).2f.",
                    name=student.full_name,
                    year=academic_year,
                    course=course,
                    threshold=threshold,
                ),
                {"gpa": None, "threshold": threshold, "academic_year": academic_year, **common},
            )
        )
    elif standing.gpa < threshold:
        refusals.append(
            Refusal(
                "promotion.gpa",
                _(
                    "%(name)s's GPA for %(year)s is %(gpa).2f, below the transfer GPA %(threshold).2f for course "
                    "%(course)s.",
                    name=student.full_name,
                    year=academic_year,
                    gpa=standing.gpa,
                    threshold=threshold,
                    course=course,
                ),
                {"gpa": standing.gpa, "threshold": threshold, "academic_year": academic_year, **common},
            )
        )
    return refusals


# Next year's groups --------------------------------------------------------------------------------------------

GroupKey = tuple[int, int, str, str]  # programme id, course, language, study form


def _key(student: Student, course: int) -> GroupKey:
    group = student.group
    return group.programme_id, course, group.language, group.study_form


def find_groups(keys: set[GroupKey]) -> dict[GroupKey, Group]:
    """The existing group for each key (the first by name), in one query."""
    if not keys:
        return {}
    found: dict[GroupKey, Group] = {}
    programmes = {k[0] for k in keys}
    courses = {k[1] for k in keys}
    for group in db.session.scalars(
        select(Group).where(Group.programme_id.in_(programmes), Group.course.in_(courses)).order_by(Group.name)
    ):
        key = (group.programme_id, group.course, group.language, group.study_form)
        if key in keys and key not in found:
            found[key] = group
    return found


def derived_name(code: str, course: int, language: str, study_form: str) -> str:
    return f"{code}-{course}{LANGUAGE_LETTER.get(language, language[:1].upper())}" + (
        "з" if study_form == "part_time" else ""
    )


def create_groups(missing: dict[GroupKey, str]) -> dict[GroupKey, Group]:
    """Create a group per key ({key: programme code}) with a derived name free of clashes (one query for names)."""
    if not missing:
        return {}
    bases = {key: derived_name(code, key[1], key[2], key[3]) for key, code in missing.items()}
    taken = set(
        db.session.scalars(select(Group.name).where(or_(*(Group.name.like(f"{b}%") for b in set(bases.values())))))
    )
    created = {}
    for key, base in bases.items():
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        created[key] = Group(name=name, programme_id=key[0], course=key[1], language=key[2], study_form=key[3])
    db.session.add_all(created.values())
    db.session.flush()
    return created


# The kind ------------------------------------------------------------------------------------------------------


class PromotionParams(ParamsSchema):
    basis_help = _l("e.g. the results of the examination session, the deans' submissions.")
    academic_year = academic_year_field(_l("The year whose results decide, e.g. 2025-2026."))
    effective_date = effective_date_field(_l("The day the students start the next course."))


class Promotion(OrderKind):
    name = "promotion"
    title_ru = "О переводе обучающихся на следующий курс"
    title_kk = "Білім алушыларды келесі курсқа көшіру туралы"
    params_schema = PromotionParams
    labels = {
        "promotion": _l("course promotion"),
        "promotion_split": _l("Turn the refused into drafts"),
        "promotion_fill": _l("Add the students in scope"),
    }
    blueprints = (pages,)
    api_blueprints = (api,)
    order_page_links = ("orders/_promotion_outcomes_link.html",)
    line_outcomes = {
        "promote": _l("to promote"),
        "repeat_year": _l("needs a repeat year"),
        "expulsion": _l("needs expulsion"),
        "blocked": _l("blocked"),
    }
    new_order_links = ("orders/_promotion_new_link.html",)

    def label(self) -> str:
        return _("Course promotion")

    def line_outcome(self, refusals: list[dict], overridden: bool) -> str:
        return outcome_from(refusals, overridden)

    def gather(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        standing = gather_standing(lines, order.params["academic_year"], order)
        self._remember_targets(order, lines)
        return {"standing": standing, "academic_year": order.params["academic_year"]}

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: only active students are promoted.")
            refusals.append(refused_for(student, "status", "promotion.status", message))
        elif student.course >= student.group.programme.duration_years:
            refusals.append(
                Refusal(
                    "promotion.final_course",
                    _(
                        "%(name)s is in the final course (%(course)s of %(years)s): final-year students are not "
                        "promoted.",
                        name=student.full_name,
                        course=student.course,
                        years=student.group.programme.duration_years,
                    ),
                    {"course": student.course, "duration_years": student.group.programme.duration_years},
                )
            )
        else:
            standing = context.facts["standing"][student.id]
            refusals += academic_refusals(student, standing, context.facts["academic_year"])
        return refusals

    # Targets: the next year's group of each line, looked up for all lines at once and kept on the order object
    # for this session (preview, document and apply read it without a query per line).

    def _remember_targets(self, order: Order, lines: list[OrderLine], create: bool = False) -> dict:
        keys = {_key(line.student, line.student.course + 1) for line in lines}
        groups = find_groups(keys)
        missing = {
            key: line.student.group.programme.code
            for line in lines
            if (key := _key(line.student, line.student.course + 1)) not in groups
        }
        if create:
            groups.update(create_groups(missing))
        else:
            for key, code in missing.items():
                groups[key] = Group(
                    name=derived_name(code, *key[1:]),
                    programme_id=key[0],
                    course=key[1],
                    language=key[2],
                    study_form=key[3],
                )  # not added: a name to show
        order.__dict__["_promotion_targets"] = groups
        return groups

    def _target(self, line: OrderLine) -> Group:
        order = line.order
        targets = order.__dict__.get("_promotion_targets")
        key = _key(line.student, line.student.course + 1)
        if targets is None or key not in targets:
            targets = self._remember_targets(order, order.lines)
        return targets[key]

    def prepare(self, order: Order, lines: list[OrderLine]) -> None:
        self._remember_targets(order, lines, create=True)

    def preview(self, line: OrderLine) -> dict:
        student = line.student
        return {"course": [student.course, student.course + 1], "group": [student.group.name, self._target(line).name]}

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {"course": line.student.course + 1, "group_id": self._target(line).id}

    def _from_to(self, line: OrderLine) -> tuple[int, int, str, str]:
        if line.applied_changes:  # signed: the record has moved on, the line remembers
            changes = line.applied_changes
            return changes["course"][0], changes["course"][1], changes["group"][0], changes["group"][1]
        student = line.student
        return student.course, student.course + 1, student.group.name, self._target(line).name

    def item_text(self, line: OrderLine, language: str) -> str:
        _course, to_course, _group, to_group = self._from_to(line)
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        when = format_day(line.effective_date, language)
        if language == "kk":
            return f"{student} {when} бастап {to_group} тобына, {to_course}-курсқа көшірілсін."
        return f"Перевести {student} на {to_course} курс в группу {to_group} с {when}."

    def table_row(self, line: OrderLine, language: str) -> tuple[str, str]:
        _course, to_course, _group, to_group = self._from_to(line)
        when = format_day(line.effective_date, language)
        if language == "kk":
            cohort = describe_cohort(line.student, "kk")
            return f"{cohort} {when} бастап {to_course}-курсқа тізімге сәйкес көшірілсін:", f"→ {to_group} тобы"
        cohort = describe_cohort(line.student, "ru", "accusative")
        return f"Перевести {cohort} на {to_course} курс с {when} по списку:", f"→ группа {to_group}"
