"""Repeat year (оставление на повторный курс обучения / қайта оқуға қалдыру).

Eligible when the student is active and either the promotion was refused (ground `promotion_refused`: the year's
results fail a promotion rule, see `orders.kinds.promotion.academic_refusals`) or the student applied (ground
`application`), and the course was repeated fewer than `rule("repeat_year_max_per_course")` times. The student stays
on the course, in the current group or in another group of the same programme and course named per line; a grant
holder pays from the effective date when `rule("repeat_year_loses_grant")`.
"""

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.clock import today
from core.db import db
from core.formatting import format_day, parse_date
from core.rules import rule
from orders.kind import (
    LineContext,
    OrderKind,
    basis_field,
    effective_date_param,
    parse_academic_year,
    title_field,
)
from orders.kinds.promotion.promotion import academic_refusals, gather_standing
from orders.models import Order, OrderLine
from orders.wording import describe_student
from students.academic import academic_year_of
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


class RepeatYearForm(FlaskForm):
    title = title_field()
    ground = SelectField(
        _l("Ground"),
        choices=[(k, v[0]) for k, v in GROUNDS.items()],
        description=_l("Promotion refused by the year's results, or the student's application."),
    )
    academic_year = StringField(
        _l("Academic year"),
        validators=[DataRequired(), Length(max=9)],
        default=lambda: academic_year_of(today()),
        description=_l("The year whose results are repeated, e.g. 2025-2026."),
    )
    effective_date = DateField(_l("Effective date"), validators=[InputRequired()])
    basis = basis_field(_l("e.g. the students' applications, the results of the session."))


class RepeatYearLineForm(FlaskForm):
    group = StringField(
        _l("Group"),
        validators=[Optional(), Length(max=32)],
        description=_l("A group of the same programme and course; empty keeps the current group."),
    )
    effective_date = DateField(_l("Effective date"), validators=[InputRequired()])


class RepeatYear(OrderKind):
    name = "repeat_year"
    title_ru = "Об оставлении обучающихся на повторный курс обучения"
    title_kk = "Білім алушыларды қайта оқуға қалдыру туралы"
    form_class = RepeatYearForm
    line_form_class = RepeatYearLineForm
    labels = {"repeat_year": _l("repeat year"), **{code: words[0] for code, words in GROUNDS.items()}}

    def label(self) -> str:
        return _("Repeat year")

    def validate_params(self, raw: dict) -> tuple[dict, dict[str, str]]:
        errors: dict[str, str] = {}
        ground = raw.get("ground")
        if not isinstance(ground, str) or ground not in GROUNDS:
            errors["ground"] = _("Choose one of the grounds: %(g)s.", g=", ".join(GROUNDS))
        year = raw.get("academic_year") or academic_year_of(today())
        if parse_academic_year(year) is None:
            errors["academic_year"] = _("Give the academic year as two consecutive years, e.g. 2025-2026.")
        effective = effective_date_param(raw, errors)
        return {
            "ground": ground,
            "academic_year": year if isinstance(year, str) else None,
            "effective_date": effective,
        }, errors

    def validate_line(self, raw: dict, line: OrderLine) -> tuple[dict, date, dict[str, str]]:
        errors: dict[str, str] = {}
        effective = parse_date(raw.get("effective_date"))
        if effective is None:
            errors["effective_date"] = _("Give the effective date as YYYY-MM-DD.")
        name = (raw.get("group") or "").strip()
        params: dict = {}
        if name and name != line.student.group.name:
            group = db.session.scalar(select(Group).where(Group.name == name))
            problem = self._group_problem(line, group, name)
            if problem:
                errors["group"] = problem
            params["group"] = name
        return params, effective or line.effective_date, errors

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
            return [
                Refusal(
                    "repeat_year.status",
                    _(
                        "%(name)s is %(status)s: only active students can be left for a repeat year.",
                        name=student.full_name,
                        status=student.status.replace("_", " "),
                    ),
                    {"status": student.status},
                )
            ]
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
        student = describe_student(line.student, language)
        when = format_day(line.effective_date, language)
        if language == "kk":
            tail = ", ақылы негізде оқуға ауыстырылсын" if paid else ""
            return f"{student} {ground[2]} {when} бастап {course}-курста {group} тобында қайта оқуға қалдырылсын{tail}."
        tail = " с переводом на платную основу обучения" if paid else ""
        return (
            f"Оставить {student} {ground[1]} на повторный курс обучения на {course} курсе в группе {group} "
            f"с {when}{tail}."
        )
