"""Return from academic leave (выход из академического отпуска / академиялық демалыстан шығу).

The order names the return date; each line may have its own, the group the student returns to (by default the
current one when it is of the course left from), the date of the student's application and, for a return before the
leave's end, the ground for it.
"""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import ValidationError, post_load, validates, validates_schema
from sqlalchemy import select

from core.db import db
from core.formatting import format_day
from core.rules import rule
from orders.kind import LineContext, OrderKind, refused_for
from orders.kinds.leave.academic_leave import DATE_MESSAGE
from orders.models import Order, OrderLine
from orders.params import LineParamsSchema, ParamsSchema, date_field, effective_date_field, text_field
from orders.wording import describe_student, sex_word
from students.models import Group
from workflow.engine import Refusal

TEXT_MESSAGE = _l("Give this as text.")


class LeaveReturnParams(ParamsSchema):
    effective_date = effective_date_field(
        _l("The day the students resume classes; each line may have its own."), title=_l("Return date")
    )


class LeaveReturnLineParams(LineParamsSchema):
    """A line's return date, group (by name), application date and early-return ground; what the body leaves out
    stays as it was."""

    keeps_stored = True
    effective_date = date_field(_l("Return date"), message=DATE_MESSAGE, missing=_l("Give the return date."))
    group = text_field(
        _l("Group"),
        longest=32,
        invalid=TEXT_MESSAGE,
        description=_l("The group of the course left from; empty: the student's current group."),
    )
    application_date = date_field(
        _l("Application date"),
        message=DATE_MESSAGE,
        required=False,
        not_after_today=True,
        description=_l(
            "The student's application to return, not after today; it must come at least the set number of days "
            "before classes resume."
        ),
    )
    early_ground = text_field(
        _l("Ground for early return"),
        longest=300,
        invalid=TEXT_MESSAGE,
        description=_l("Only for a return before the leave's end, e.g. a medical commission conclusion on recovery."),
    )

    @validates("group")
    def _group_exists(self, name: str, data_key: str) -> None:
        if _group_id(name) is None:
            raise ValidationError(_("There is no group %(name)s.", name=name))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _known_details(self, data, original_data, **kwargs):
        self.unknown_error(
            original_data,
            lambda unknown, known: ngettext(
                "Unknown detail %(names)s; a return line has: %(known)s.",
                "Unknown details %(names)s; a return line has: %(known)s.",
                len(unknown),
                names=", ".join(unknown),
                known=", ".join(known),
            ),
        )

    @post_load
    def _with_group_id(self, data, **kwargs):
        group_id = _group_id(data["group"]) if data.get("group") else None
        return {**data, "group_id": group_id} if group_id else data


def _group_id(name: str) -> int | None:
    return db.session.scalar(select(Group.id).where(Group.name == name))


class LeaveReturn(OrderKind):
    name = "leave_return"
    route = "movement"
    title_ru = "О выходе из академического отпуска"
    title_kk = "Академиялық демалыстан шығу туралы"
    params_schema = LeaveReturnParams
    line_schema = LeaveReturnLineParams
    labels = {
        "leave_return": _l("return from academic leave"),
        "application_date": _l("application date"),
        "early_ground": _l("ground for early return"),
    }

    def label(self) -> str:
        return _("Return from academic leave")

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
            message = _("%(name)s is %(status)s: only a student on academic leave can return from it.")
            refusals.append(refused_for(student, "status", "leave_return.status", message))
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
        describe = describe_student(student, language, "accusative" if language == "ru" else "nominative")
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
            text = f"Считать {describe} {sex_word(student, 'вышедшим', 'вышедшей')} из академического отпуска "
            text += "досрочно " if early else ""
            text += f"с {when} и допустить к занятиям на {student.course} курсе в группе {target.name}"
            notes = [
                f"заявление от {applied}" if applied else "",
                f"основание досрочного выхода: {early}" if early else "",
            ]
        notes = [note for note in notes if note]
        return text + (f" ({'; '.join(notes)})." if notes else ".")
