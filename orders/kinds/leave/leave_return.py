"""Return from academic leave (выход из академического отпуска / академиялық демалыстан шығу).

The order names the return date; each line may have its own, the group the student returns to (by default the
current one when it is of the course left from), the date of the student's application and, for a return before the
leave's end, the ground for it.
"""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length, Optional

from core.db import db
from core.formatting import format_day, parse_date
from core.labels import label as state_label
from core.rules import rule
from orders.kind import (
    LineContext,
    OrderKind,
    basis_field,
    effective_date_param,
    title_field,
)
from orders.kinds.leave.academic_leave import IsoDateField
from orders.models import Order, OrderLine
from orders.wording import describe_student
from students.models import Group
from workflow.engine import Refusal

LINE_FIELDS = ("effective_date", "group", "application_date", "early_ground")


class LeaveReturnForm(FlaskForm):
    title = title_field()
    effective_date = DateField(
        _l("Return date"),
        validators=[InputRequired()],
        description=_l("The day the students resume classes; each line may have its own."),
    )
    basis = basis_field(_l("Documents the order rests on, e.g. the students' applications."))


class LeaveReturnLineForm(FlaskForm):
    effective_date = IsoDateField(_l("Return date"), validators=[InputRequired()])
    group = StringField(
        _l("Group"),
        validators=[Length(max=32)],
        description=_l("The group of the course left from; empty: the student's current group."),
    )
    application_date = IsoDateField(
        _l("Application date"),
        validators=[Optional()],
        description=_l(
            "The student's application to return; it must come at least the set number of days before classes resume."
        ),
    )
    early_ground = StringField(
        _l("Ground for early return"),
        validators=[Length(max=300)],
        description=_l("Only for a return before the leave's end, e.g. a medical commission conclusion on recovery."),
    )


class LeaveReturn(OrderKind):
    name = "leave_return"
    route = "movement"
    title_ru = "О выходе из академического отпуска"
    title_kk = "Академиялық демалыстан шығу туралы"
    form_class = LeaveReturnForm
    line_form_class = LeaveReturnLineForm
    labels = {
        "leave_return": _l("return from academic leave"),
        "application_date": _l("application date"),
        "early_ground": _l("ground for early return"),
    }

    def label(self) -> str:
        return _("Return from academic leave")

    def validate_params(self, raw: dict) -> tuple[dict, dict[str, str]]:
        errors: dict[str, str] = {}
        return {"effective_date": effective_date_param(raw, errors)}, errors

    def validate_line(self, raw: dict, line: OrderLine) -> tuple[dict, date, dict[str, str]]:
        """A line's return date, group (by name), application date and early-return ground; what the body leaves
        out stays as it was."""
        errors: dict[str, str] = {}
        unknown = sorted(set(raw) - set(LINE_FIELDS) - {"csrf_token"})
        if unknown:
            errors["line"] = ngettext(
                "Unknown detail %(names)s; a return line has: %(known)s.",
                "Unknown details %(names)s; a return line has: %(known)s.",
                len(unknown),
                names=", ".join(unknown),
                known=", ".join(LINE_FIELDS),
            )
        merged = {
            **line.params,
            "effective_date": line.effective_date,
            **{k: v for k, v in raw.items() if k in LINE_FIELDS},
        }
        values = {}
        for name in ("effective_date", "application_date"):
            values[name] = parse_date(merged.get(name))
            if values[name] is None and merged.get(name) not in (None, ""):
                errors[name] = _("Give the date as YYYY-MM-DD, e.g. 2026-09-01.")
        if values["effective_date"] is None and "effective_date" not in errors:
            errors["effective_date"] = _("Give the return date.")
        texts = {}
        for name, longest in (("group", 32), ("early_ground", 300)):
            value = merged.get(name)
            if value is not None and not isinstance(value, str):
                errors[name] = _("Give this as text.")
                value = None
            texts[name] = (value or "").strip()
            if len(texts[name]) > longest:
                errors[name] = ngettext("Longer than %(num)s character.", "Longer than %(num)s characters.", longest)
        group_id = None
        if texts["group"] and "group" not in errors:
            group_id = db.session.scalar(select(Group.id).where(Group.name == texts["group"]))
            if group_id is None:
                errors["group"] = _("There is no group %(name)s.", name=texts["group"])
        params = {
            "group": texts["group"],
            "group_id": group_id,
            "application_date": values["application_date"],
            "early_ground": texts["early_ground"],
        }
        params = {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items() if v}
        return params, values["effective_date"] or line.effective_date, errors

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        """The target groups named in the lines, in one query (later look-ups by id hit the session's map)."""
        ids = {line.params["group_id"] for line in lines if line.params.get("group_id")}
        return {"groups": list(db.session.scalars(select(Group).where(Group.id.in_(ids)))) if ids else []}

    def prepare(self, order: Order, lines: list[OrderLine]) -> None:
        self.gather(order, lines)

    @staticmethod
    def _target(line: OrderLine) -> Group:
        """The group the student returns to: the one the line names, else the current one."""
        group_id = line.params.get("group_id")
        return db.session.get(Group, group_id) if group_id else line.student.group

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student, params, when = line.student, line.params, line.effective_date
        refusals = []
        if student.status != "academic_leave":
            refusals.append(
                Refusal(
                    "leave_return.status",
                    _(
                        "%(name)s is %(status)s: only a student on academic leave can return from it.",
                        name=student.full_name,
                        status=state_label(student.status),
                    ),
                    {"status": student.status},
                )
            )
        elif student.leave_end is not None and when <= student.leave_end and not params.get("early_ground"):
            refusals.append(
                Refusal(
                    "leave_return.early",
                    _(
                        "The academic leave of %(name)s runs to %(end)s: a return on %(date)s is early; name the "
                        "ground "
                        "for an early return.",
                        name=student.full_name,
                        end=format_day(student.leave_end),
                        date=format_day(when),
                    ),
                    {"leave_end": student.leave_end.isoformat(), "effective_date": when.isoformat()},
                )
            )
        if params.get("application_date"):
            applied = date.fromisoformat(params["application_date"])
            notice = rule("return_notice_days")
            days = (when - applied).days
            if days < notice:
                message = (
                    _(
                        "The application of %(applied)s came %(days)s before classes resume on %(date)s; "
                        "it must come at least %(notice)s before.",
                        applied=format_day(applied),
                        days=ngettext("%(num)s day", "%(num)s days", days),
                        date=format_day(when),
                        notice=ngettext("%(num)s day", "%(num)s days", notice),
                    )
                    if days >= 0
                    else _(
                        "The application of %(applied)s came after classes resumed on %(date)s; it must come "
                        "at least %(notice)s before.",
                        applied=format_day(applied),
                        date=format_day(when),
                        notice=ngettext("%(num)s day", "%(num)s days", notice),
                    )
                )
                refusals.append(
                    Refusal(
                        "leave_return.notice",
                        message,
                        {"application_date": applied.isoformat(), "days": days, "notice": notice},
                    )
                )
        refusals += self._group_refusals(line, self._target(line))
        return refusals

    @staticmethod
    def _group_refusals(line: OrderLine, group: Group) -> list[Refusal]:
        student = line.student
        own = student.group.programme
        if group.programme_id != own.id:
            return [
                Refusal(
                    "leave_return.group",
                    _(
                        "Group %(group)s is of programme %(other)s; %(name)s returns to programme %(own)s.",
                        group=group.name,
                        other=group.programme.code,
                        name=student.full_name,
                        own=own.code,
                    ),
                    {"group": group.name, "programme": group.programme.code, "student_programme": own.code},
                )
            ]
        if group.course != student.course:
            return [
                Refusal(
                    "leave_return.group",
                    _(
                        "Group %(group)s is of course %(other)s; %(name)s returns to course %(course)s, the course "
                        "left "
                        "from: choose a group of that course.",
                        group=group.name,
                        other=group.course,
                        name=student.full_name,
                        course=student.course,
                    ),
                    {"group": group.name, "group_course": group.course, "course": student.course},
                )
            ]
        return []

    def preview(self, line: OrderLine) -> dict:
        student = line.student
        changes = {"status": [student.status, "active"]}
        target = self._target(line)
        if target.id != student.group_id:
            changes["group"] = [student.group.name, target.name]
        for column in ("leave_ground", "leave_start", "leave_end"):
            value = getattr(student, column)
            if value is not None:
                changes[column] = [value.isoformat() if isinstance(value, date) else value, None]
        return changes

    def apply(self, line: OrderLine, order: Order) -> dict:
        student = line.student
        target = self._target(line)
        return {
            "status": "active",
            "status_since": line.effective_date,
            "group_id": target.id,
            "course": student.course,
            "leave_ground": None,
            "leave_start": None,
            "leave_end": None,
        }

    def item_text(self, line: OrderLine, language: str) -> str:
        student, params = line.student, line.params
        describe = describe_student(student, language)
        target = self._target(line)
        when = format_day(line.effective_date, language)
        early = params.get("early_ground")
        applied = params.get("application_date")
        applied = format_day(date.fromisoformat(applied), language) if applied else None
        if language == "kk":
            text = f"{describe} {when} бастап академиялық демалыстан "
            text += "мерзімінен бұрын " if early else ""
            text += f"шыққан деп есептелсін және {student.course}-курстың {target.name} тобындағы сабақтарға жіберілсін"
            notes = [
                f"өтініші {applied} ж." if applied else "",
                f"мерзімінен бұрын шығу негізі: {early}" if early else "",
            ]
        else:
            text = f"Считать {describe} вышедшим из академического отпуска "
            text += "досрочно " if early else ""
            text += f"с {when} и допустить к занятиям на {student.course} курсе в группе {target.name}"
            notes = [
                f"заявление от {applied}" if applied else "",
                f"основание досрочного выхода: {early}" if early else "",
            ]
        notes = [note for note in notes if note]
        return text + (f" ({'; '.join(notes)})." if notes else ".")
