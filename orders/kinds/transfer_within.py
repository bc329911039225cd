"""Transfer within the university (перевод внутри университета): each line names its target group; a programme
change takes effect only in a holiday window and stores the academic difference as debts (`orders.group_change`).
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.rules import rule
from orders.group_change import (
    GroupChangeKind,
    calendars_for,
    describe_group,
    difference_text,
    first_period_refusal,
    groups_by_id,
    holiday_refusals,
    move_changes,
    programmes_wanted,
    target_group,
)
from orders.kind import LineContext, refused_for
from orders.models import Order, OrderLine
from orders.wording import describe_student
from students.difference import difference_for, first_period_completed
from students.models import Group
from workflow.engine import Refusal


class TransferWithin(GroupChangeKind):
    name = "transfer_within"
    title_ru = "О переводе обучающихся"
    title_kk = "Білім алушыларды ауыстыру туралы"
    labels = {"transfer_within": _l("transfer within the university")}

    def label(self) -> str:
        return _("Transfer within the university")

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        targets = groups_by_id(line.params.get("group_id") for line in lines)
        calendars = calendars_for(lines)

        def programme_changed(line: OrderLine) -> Group | None:
            target = targets.get(line.params.get("group_id"))
            return target if target and target.programme_id != line.student.group.programme_id else None

        changes = programmes_wanted(lines, calendars, programme_changed)
        return {
            "calendars": calendars,
            "targets": targets,
            "difference": difference_for(changes),
            "first_period": first_period_completed(
                {line.student_id: line.student.group.programme_id for line in lines if line.student_id in changes}
            ),
        }

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student, facts = line.student, context.facts
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: only active students can be transferred.")
            refusals.append(refused_for(student, "status", "transfer_within.status", message))
        target = facts["targets"].get(line.params.get("group_id"))
        if target is None:
            refusals.append(
                Refusal("transfer_within.target", _("Choose the target group of %(name)s.", name=student.full_name), {})
            )
        elif target.id == student.group_id:
            refusals.append(
                Refusal(
                    "transfer_within.same_group",
                    _(
                        "%(name)s already studies in group %(group)s; choose another group.",
                        name=student.full_name,
                        group=target.name,
                    ),
                    {"group": target.name},
                )
            )
        elif target.programme_id != student.group.programme_id:
            refusals += holiday_refusals(self.name, line, facts["calendars"])
            refusals += first_period_refusal(self.name, line, facts["first_period"])
        return refusals

    @staticmethod
    def _funding(line: OrderLine, target: Group) -> str:
        """A grant is kept unless the rule `transfer_within_keeps_grant` is off and the programme changes."""
        student = line.student
        if (
            student.funding == "grant"
            and target.programme_id != student.group.programme_id
            and not rule("transfer_within_keeps_grant")
        ):
            return "paid"
        return student.funding

    def preview(self, line: OrderLine) -> dict:
        student, target = line.student, target_group(line)
        return {
            "group": [student.group.name, target.name],
            **move_changes(student, target, self._funding(line, target)),
        }

    def apply(self, line: OrderLine, order: Order) -> dict:
        target = target_group(line)
        return {"group_id": target.id, "course": target.course, "funding": self._funding(line, target)}

    def item_text(self, line: OrderLine, language: str) -> str:
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        target = describe_group(target_group(line), language)
        when = f"{line.effective_date:%d.%m.%Y}"
        difference = difference_text(line.params.get("difference") or [], language)
        if language == "kk":
            return f"{student} {when} бастап ({target}) ауыстырылсын.{difference}"
        return f"Перевести {student} на {target} с {when}.{difference}"
