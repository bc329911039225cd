"""Repeat year (оставление на повторный курс обучения / қайта оқуға қалдыру).

Eligible when the student is active and either the promotion was refused (ground `promotion_refused`: the year's
results fail a promotion rule, see `orders.kinds.promotion.academic_refusals`) or the student applied (ground
`application`), and the course was repeated fewer than `rule("repeat_year_max_per_course")` times. The student stays
on the course, in the current group or in another group of the same programme and course named per line; a grant
holder pays from the effective date when `rule("repeat_year_loses_grant")`.
"""

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import ValidationError, post_load, validates_schema
from sqlalchemy import select

from core.db import db
from core.formatting import format_day
from core.rules import rule
from orders.kind import LineContext, OrderKind, academic_year_field, refused_for
from orders.kinds.promotion.promotion import academic_refusals, gather_standing
from orders.models import Order, OrderLine
from orders.params import (
    EFFECTIVE_DATE_MESSAGE,
    LineParamsSchema,
    ParamsSchema,
    choice_field,
    date_field,
    effective_date_field,
    longer_than,
    text_field,
)
from orders.wording import describe_student
from students.models import Group
from workflow.engine import Refusal

# ground -> (label for the UI, Russian, Kazakh wording)
GROUNDS: dict[str, tuple[str, str, str]] = {
    "promotion_refused": (
        _l("promotion refused"),
        "в связи с невыполнением требований для перевода на следующий курс",
        "келесі курсқа көшу талаптарын орындамауына байланысты",
    ),
    "application": (_l("student's application"), "по личному заявлению", "жеке өтініші бойынша"),
}


class RepeatYearParams(ParamsSchema):
    basis_help = _l("e.g. the students' applications, the results of the session.")
    ground = choice_field(
        _l("Ground"),
        {k: v[0] for k, v in GROUNDS.items()},
        _l("Choose one of the grounds: %(g)s.", g=", ".join(GROUNDS)),
        description=_l("Promotion refused by the year's results, or the student's application."),
    )
    academic_year = academic_year_field(_l("The year whose results are repeated, e.g. 2025-2026."))
    effective_date = effective_date_field()


class RepeatYearLineParams(LineParamsSchema):
    """A line's group (of the student's programme and course; empty keeps the current one) and effective date."""

    group = text_field(
        _l("Group"),
        longest=32,
        too_long=longer_than(32),
        invalid=_l("Give this as text."),
        description=_l("A group of the same programme and course; empty keeps the current group."),
    )
    effective_date = date_field(_l("Effective date"), message=EFFECTIVE_DATE_MESSAGE)

    def _changed_group(self, data: dict) -> str | None:
        name = data.get("group")
        return name if name and name != self.line.student.group.name else None

    @validates_schema(skip_on_field_errors=False)
    def _group_of_the_course(self, data, **kwargs):
        name = self._changed_group(data)
        if name:
            group = db.session.scalar(select(Group).where(Group.name == name))
            problem = RepeatYear._group_problem(self.line, group, name)
            if problem:
                raise ValidationError(problem, "group")

    @post_load
    def _only_a_new_group(self, data, **kwargs):
        name = self._changed_group(data)
        return {"effective_date": data["effective_date"], **({"group": name} if name else {})}


class RepeatYear(OrderKind):
    name = "repeat_year"
    title_ru = "Об оставлении обучающихся на повторный курс обучения"
    title_kk = "Білім алушыларды қайта оқуға қалдыру туралы"
    params_schema = RepeatYearParams
    line_schema = RepeatYearLineParams
    labels = {"repeat_year": _l("repeat year"), **{code: words[0] for code, words in GROUNDS.items()}}

    def label(self) -> str:
        return _("Repeat year")

    @staticmethod
    def _group_problem(line: OrderLine, group: Group | None, name: str) -> str | None:
        student = line.student
        if group is None:
            return _("There is no group %(name)s.", name=name)
        if group.programme_id != student.group.programme_id or group.course != student.course:
            return _(
                "Group %(name)s is not a course %(course)s group of the student's programme %(code)s.",
                name=name,
                course=student.course,
                code=student.group.programme.code,
            )
        return None

    def _groups(self, order: Order, lines: list[OrderLine]) -> dict[str, Group]:
        """The target groups named by lines, by name, in one query; kept on the order object for this session."""
        names = {line.params["group"] for line in lines if line.params.get("group")}
        groups = {g.name: g for g in db.session.scalars(select(Group).where(Group.name.in_(names)))} if names else {}
        order.__dict__["_repeat_groups"] = groups
        return groups

    def gather(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        facts: dict[str, Any] = {"groups": self._groups(order, lines)}
        facts["standing"] = gather_standing(lines, order.params["academic_year"], order)
        return facts

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        order = line.order
        if student.status != "active":
            message = _("%(name)s is %(status)s: only active students can be left for a repeat year.")
            return [refused_for(student, "status", "repeat_year.status", message)]
        refusals = []
        standing = context.facts["standing"][student.id]
        if (
            order.params["ground"] == "promotion_refused"
            and not academic_refusals(student, standing, order.params["academic_year"])
            and student.course < student.group.programme.duration_years
        ):
            refusals.append(
                Refusal(
                    "repeat_year.promotable",
                    _(
                        "%(name)s meets every promotion requirement for %(year)s; a repeat year then needs the "
                        "student's application as its ground.",
                        name=student.full_name,
                        year=order.params["academic_year"],
                    ),
                    {"gpa": standing.gpa},
                )
            )
        limit = rule("repeat_year_max_per_course")
        if standing.repeated >= limit:
            refusals.append(
                Refusal(
                    "repeat_year.repeated",
                    ngettext(
                        "%(name)s has already repeated course %(course)s; the rules allow %(limit)s repeat year per "
                        "course.",
                        "%(name)s has already repeated course %(course)s; the rules allow %(limit)s repeat years per "
                        "course.",
                        limit,
                        name=student.full_name,
                        course=student.course,
                        limit=limit,
                    ),
                    {"course": student.course, "repeated": standing.repeated, "limit": limit},
                )
            )
        name = line.params.get("group")
        if name:
            problem = self._group_problem(line, context.facts["groups"].get(name), name)
            if problem:
                refusals.append(Refusal("repeat_year.group", problem, {"group": name}))
        return refusals

    def _target(self, line: OrderLine) -> Group:
        name = line.params.get("group")
        if not name:
            return line.student.group
        groups = line.order.__dict__.get("_repeat_groups")
        if groups is None or name not in groups:
            groups = self._groups(line.order, line.order.lines)
        return groups[name]

    @staticmethod
    def _loses_grant(line: OrderLine) -> bool:
        return line.student.funding == "grant" and bool(rule("repeat_year_loses_grant"))

    def prepare(self, order: Order, lines: list[OrderLine]) -> None:
        self._groups(order, lines)

    def preview(self, line: OrderLine) -> dict:
        student = line.student
        changes: dict = {"course": [student.course, student.course]}
        target = self._target(line)
        if target.id != student.group_id:
            changes["group"] = [student.group.name, target.name]
        if self._loses_grant(line):
            changes["funding"] = ["grant", "paid"]
        return changes

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {
            "group_id": self._target(line).id,
            "funding": "paid" if self._loses_grant(line) else line.student.funding,
        }

    def item_text(self, line: OrderLine, language: str) -> str:
        changes = line.applied_changes or self.preview(line)
        course = changes["course"][0]
        group = changes["group"][1] if "group" in changes else line.student.group.name
        paid = "funding" in changes
        ground = GROUNDS[line.order.params["ground"]]
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        when = format_day(line.effective_date, language)
        if language == "kk":
            tail = ", ақылы негізде оқуға ауыстырылсын" if paid else ""
            return f"{student} {ground[2]} {when} бастап {course}-курста {group} тобында қайта оқуға қалдырылсын{tail}."
        tail = " с переводом на платную основу обучения" if paid else ""
        return (
            f"Оставить {student} {ground[1]} на повторный курс обучения на {course} курсе в группе {group} "
            f"с {when}{tail}."
        )
