"""Restoration (восстановление / қайта қабылдау) of an expelled student.

Eligible: expelled for any reason but death; the effective date in a holiday window of the academic calendar; the
first academic period completed before the expulsion (a passing grade for every discipline of semester 1 of the
programme the student was expelled from; see `students.difference.first_period_completed`). No limit on the years
since the expulsion. Each line names its target group (default: the group the student left); signing makes the
student active there on a paid basis (rule `restoration_funding`) and stores the academic difference as debts.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import post_load

from core.formatting import format_day
from core.rules import rule
from orders.group_change import (
    GroupChangeKind,
    TargetGroupLineParams,
    calendars_for,
    describe_group,
    difference_text,
    first_period_refusal,
    groups_by_id,
    holiday_refusals,
    move_changes,
    programmes_wanted,
    sync_params,
    target_group,
)
from orders.kind import LineContext, refused_for
from orders.models import Order, OrderLine
from orders.params import text_field
from orders.wording import FUNDING, describe_student
from students.difference import difference_for, first_period_completed
from workflow.engine import Refusal


class RestorationLineParams(TargetGroupLineParams):
    """A line's target group, by default the group the student was expelled from, and effective date."""

    group = text_field(
        _l("Target group"),
        longest=32,
        invalid=_l("Give this as text."),
        description=_l("Empty: the group the student was expelled from."),
    )

    @post_load
    def _with_group_id(self, data, **kwargs):
        params = super()._with_group_id(data, **kwargs)
        if not data.get("group"):  # back to the default: the group the student left
            params.update(group_id=self.line.student.group_id, group=self.line.student.group.name)
        return params


class Restoration(GroupChangeKind):
    name = "restoration"
    title_ru = "О восстановлении в число обучающихся"
    title_kk = "Білім алушылар қатарына қайта қабылдау туралы"
    line_schema = RestorationLineParams
    labels = {"restoration": _l("restoration")}

    def label(self) -> str:
        return _("Restoration")

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        targets = groups_by_id([line.params.get("group_id") or line.student.group_id for line in lines])
        targets.update({line.student.group_id: line.student.group for line in lines})
        calendars = calendars_for(lines)
        wanted = programmes_wanted(
            lines, calendars, lambda line: targets[line.params.get("group_id") or line.student.group_id]
        )
        return {
            "calendars": calendars,
            "targets": targets,
            "difference": difference_for(wanted),
            "first_period": first_period_completed(
                {line.student_id: line.student.group.programme_id for line in lines}
            ),
        }

    def fill_params(self, order: Order, lines: list[OrderLine], facts: dict) -> None:
        """Each line's target group (by default the group left from) and its academic difference."""
        for line in lines:
            target = facts["targets"][line.params.get("group_id") or line.student.group_id]
            sync_params(
                line, group_id=target.id, group=target.name, difference=facts["difference"].get(line.student_id, [])
            )

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student, facts = line.student, context.facts
        refusals = []
        if student.status != "expelled":
            message = _("%(name)s is %(status)s: only expelled students can be restored.")
            refusals.append(refused_for(student, "status", "restoration.status", message))
        refusals += holiday_refusals(self.name, line, facts["calendars"])
        refusals += first_period_refusal(self.name, line, facts["first_period"])
        return refusals

    def preview(self, line: OrderLine) -> dict:
        student, target = line.student, target_group(line)
        changes = {"status": [student.status, "active"], **move_changes(student, target, rule("restoration_funding"))}
        if student.expulsion_reason is not None:
            changes["expulsion_reason"] = [student.expulsion_reason, None]
        return changes

    def apply(self, line: OrderLine, order: Order) -> dict:
        target = target_group(line)
        return {
            "status": "active",
            "group_id": target.id,
            "course": target.course,
            "funding": rule("restoration_funding"),
            "expulsion_reason": None,
            "status_since": line.effective_date,
        }

    def item_text(self, line: OrderLine, language: str) -> str:
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        target = describe_group(target_group(line), language)
        funding = FUNDING[language if language == "kk" else "ru"][rule("restoration_funding")]
        when = format_day(line.effective_date, language)
        difference = difference_text(line.params.get("difference") or [], language)
        if language == "kk":
            return (
                f"{student} {when} бастап білім алушылар қатарына қайта қабылдансын ({target}, {funding}).{difference}"
            )
        return f"Восстановить {student} в число обучающихся на {target}, {funding}, с {when}.{difference}"
